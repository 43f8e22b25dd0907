import type Stripe from 'stripe';

/** All Tollgate ever keeps or shows of a card: brand, last4, expiry, default flag. */
export function presentPaymentMethod(pm: Stripe.PaymentMethod, defaultId: string | null) {
  return {
    id: pm.id,
    brand: pm.card?.brand ?? null,
    last4: pm.card?.last4 ?? null,
    exp_month: pm.card?.exp_month ?? null,
    exp_year: pm.card?.exp_year ?? null,
    is_default: pm.id === defaultId,
  };
}

export type PaymentMethodView = ReturnType<typeof presentPaymentMethod>;
