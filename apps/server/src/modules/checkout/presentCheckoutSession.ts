import type Stripe from 'stripe';

const idOf = (v: unknown) => (typeof v === 'string' ? v : ((v as { id?: string } | null)?.id ?? null));

/** The API's view of a checkout session: where it stands, and what it produced. */
export function presentCheckoutSession(s: Stripe.Checkout.Session) {
  return {
    id: s.id,
    mode: s.mode as 'payment' | 'subscription' | 'setup',
    status: s.status ?? 'open',
    payment_status: s.payment_status,
    amount_total: s.amount_total,
    currency: s.currency,
    subscription_id: idOf(s.subscription),
    payment_intent_id: idOf(s.payment_intent),
    /** Only while the session can still be paid. */
    url: s.status === 'open' ? s.url : null,
    expires_at: new Date(s.expires_at * 1000).toISOString(),
  };
}
