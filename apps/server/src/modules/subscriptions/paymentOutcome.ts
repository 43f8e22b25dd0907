import type Stripe from 'stripe';
import type { Deps } from '../../deps.ts';

export interface PaymentOutcome {
  invoice: Stripe.Invoice | null;
  paymentIntent: Stripe.PaymentIntent | null;
}

/**
 * Since API 2025-03-31 an invoice no longer names its PaymentIntent; it is found through the
 * invoice's payments. Used to tell "needs 3-D Secure" from "declined" on a fresh invoice.
 */
export async function invoicePaymentOutcome(
  deps: Pick<Deps, 'stripe'>,
  invoiceId: string | null,
): Promise<PaymentOutcome> {
  if (!invoiceId) return { invoice: null, paymentIntent: null };
  const invoice = await deps.stripe.invoices.retrieve(invoiceId);
  const payments = await deps.stripe.invoicePayments.list({ invoice: invoiceId, limit: 10 });
  const ref = payments.data.find((p) => p.payment.type === 'payment_intent')?.payment.payment_intent;
  const piId = typeof ref === 'string' ? ref : ref?.id;
  const paymentIntent = piId ? await deps.stripe.paymentIntents.retrieve(piId) : null;
  return { invoice, paymentIntent };
}
