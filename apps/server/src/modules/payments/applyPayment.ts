import { sql } from 'drizzle-orm';
import type Stripe from 'stripe';
import type { Tx } from '../../db/client.ts';
import { payments, refunds } from '../../db/schema/index.ts';

export type PaymentStatus = 'succeeded' | 'pending' | 'failed' | 'refunded' | 'partially_refunded';

const toDate = (s: number | null | undefined) => (s ? new Date(s * 1000) : null);

/** The charge a PaymentIntent's outcome is read from (expanded `latest_charge`), if any. */
export function latestChargeOf(pi: Stripe.PaymentIntent): Stripe.Charge | null {
  return pi.latest_charge && typeof pi.latest_charge !== 'string' ? pi.latest_charge : null;
}

/** Whether anyone tried to pay it: a charge (failed or not) or a recorded error. */
export const wasAttempted = (pi: Stripe.PaymentIntent) =>
  Boolean(
    pi.latest_charge || pi.last_payment_error || pi.status === 'succeeded' || pi.status === 'processing',
  );

/** What the history shows for a PaymentIntent and its latest charge. */
export function paymentStatus(pi: Stripe.PaymentIntent, charge: Stripe.Charge | null): PaymentStatus {
  switch (pi.status) {
    case 'succeeded': {
      const refunded = charge?.amount_refunded ?? 0;
      if (refunded <= 0) return 'succeeded';
      return refunded >= (charge?.amount_captured || pi.amount_received || pi.amount)
        ? 'refunded'
        : 'partially_refunded';
    }
    case 'canceled':
      return 'failed';
    case 'requires_payment_method':
      return pi.last_payment_error || charge?.status === 'failed' ? 'failed' : 'pending';
    default:
      // processing, requires_action (3-D Secure), requires_confirmation, requires_capture
      return 'pending';
  }
}

function failureReason(pi: Stripe.PaymentIntent, charge: Stripe.Charge | null): string | null {
  const e = pi.last_payment_error;
  if (e?.message) {
    const code = e.decline_code ?? e.code;
    return code ? `${e.message} (${code})` : e.message;
  }
  if (charge?.status === 'failed' && charge.failure_message)
    return charge.failure_code
      ? `${charge.failure_message} (${charge.failure_code})`
      : charge.failure_message;
  if (pi.status === 'canceled') return `canceled (${pi.cancellation_reason ?? 'abandoned'})`;
  return null;
}

function refundsOf(charge: Stripe.Charge | null): Stripe.Refund[] {
  return charge?.refunds?.data ?? [];
}

/**
 * Writes one PaymentIntent (with its expanded `latest_charge` and, when refunded, the charge's
 * `refunds`) as a row of the org's payment history, and every refund of it into `refunds`.
 * Watermarked like the other projections: a write observed before the stored one is ignored.
 */
export async function applyPayment(
  tx: Tx,
  orgId: string,
  pi: Stripe.PaymentIntent,
  invoiceId: string | null,
  observedAt: number,
  createdBy: string | null = null,
): Promise<boolean> {
  const charge = latestChargeOf(pi);
  const status = paymentStatus(pi, charge);
  const card = charge?.payment_method_details?.card;
  const succeededRefunds = refundsOf(charge).filter(
    (r) => r.status === 'succeeded' || r.status === 'pending',
  );
  const lastRefund = Math.max(0, ...succeededRefunds.map((r) => r.created));
  const row = {
    orgId,
    customerId: typeof pi.customer === 'string' ? pi.customer : (pi.customer?.id ?? null),
    chargeId: charge?.id ?? null,
    amountCents: pi.amount,
    amountRefundedCents: charge?.amount_refunded ?? 0,
    currency: pi.currency,
    status,
    cardBrand: card?.brand ?? null,
    cardLast4: card?.last4 ?? null,
    description: pi.description,
    failureReason: status === 'failed' ? failureReason(pi, charge) : null,
    paidAt: status === 'failed' || status === 'pending' ? null : toDate(charge?.created ?? pi.created),
    refundedAt: (charge?.amount_refunded ?? 0) > 0 ? toDate(lastRefund || null) : null,
    stripeCreatedAt: new Date(pi.created * 1000),
    stripeUpdatedAt: observedAt,
  };
  const written = await tx
    .insert(payments)
    .values({ id: pi.id, invoiceId, ...row })
    .onConflictDoUpdate({
      target: payments.id,
      // The invoice link is found once, when the payment is first seen; never erased later.
      set: { ...row, invoiceId: sql`coalesce(${payments.invoiceId}, ${invoiceId})` },
      where: sql`${payments.stripeUpdatedAt} <= ${observedAt} AND ${payments.orgId} = ${orgId}`,
    })
    .returning({ id: payments.id });
  for (const r of refundsOf(charge)) {
    const refundRow = {
      orgId,
      paymentId: pi.id,
      amountCents: r.amount,
      currency: r.currency,
      reason: r.reason,
      status: r.status ?? 'succeeded',
    };
    await tx
      .insert(refunds)
      .values({ id: r.id, ...refundRow, createdBy, createdAt: new Date(r.created * 1000) })
      .onConflictDoUpdate({ target: refunds.id, set: { status: refundRow.status } });
  }
  return written.length > 0;
}
