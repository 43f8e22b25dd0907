import { and, asc, desc, eq, gt } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { invoices, organizations, payments } from '../../db/schema/index.ts';
import { publishOrgChange } from '../live/publishOrgChange.ts';
import { emitOutgoing } from '../outgoing-webhooks/emitOutgoing.ts';
import { markPastDue, markRecovered } from '../webhooks/paymentState.ts';

/**
 * The payment-failure state the synced invoices imply, for when invoice.payment_failed or
 * invoice.paid never arrived: an open invoice Stripe tried to collect makes an `ok` org past due
 * (grace from the invoice's creation, as the webhook handler counts it from finalization); no
 * such invoice left recovers a past-due, restricted or action-required org. Outgoing events use
 * the webhook handlers' cause keys, so the host hears of each failure or recovery once, whichever
 * path saw it first. Runs in the caller's org transaction, after invoices and payments are synced.
 */
export async function healPaymentState(tx: Tx, orgId: string, graceDays: number): Promise<void> {
  const [org] = await tx
    .select({ billingState: organizations.billingState })
    .from(organizations)
    .where(eq(organizations.id, orgId));
  if (!org) return;
  const failing = await tx
    .select()
    .from(invoices)
    .where(and(eq(invoices.orgId, orgId), eq(invoices.status, 'open'), gt(invoices.attemptCount, 0)))
    .orderBy(asc(invoices.stripeCreatedAt));
  const first = failing[0];
  if (first && org.billingState === 'ok') {
    const [payment] = await tx
      .select({ reason: payments.failureReason })
      .from(payments)
      .where(and(eq(payments.orgId, orgId), eq(payments.invoiceId, first.id), eq(payments.status, 'failed')))
      .orderBy(desc(payments.stripeCreatedAt))
      .limit(1);
    const reason = payment?.reason ?? 'payment_failed';
    const r = await markPastDue(tx, orgId, reason, first.stripeCreatedAt, graceDays);
    await publishOrgChange(tx, orgId, { type: 'billing.past_due', id: first.id, data: { reason } });
    await emitOutgoing(tx, {
      orgId,
      type: 'payment.failed',
      causeKey: `payment.failed:${first.id}:${first.attemptCount}`,
      data: {
        invoice: first.id,
        amount_due: first.amountDue,
        currency: first.currency,
        reason,
        attempt: first.attemptCount,
        grace_ends_at: r?.graceEndsAt.toISOString() ?? null,
        source: 'reconcile',
      },
    });
    return;
  }
  if (!first && org.billingState !== 'ok') {
    const [paid] = await tx
      .select({ id: invoices.id })
      .from(invoices)
      .where(and(eq(invoices.orgId, orgId), eq(invoices.status, 'paid')))
      .orderBy(desc(invoices.stripeCreatedAt))
      .limit(1);
    await markRecovered(tx, orgId);
    await publishOrgChange(tx, orgId, { type: 'billing.recovered', id: paid?.id ?? orgId });
    if (paid)
      await emitOutgoing(tx, {
        orgId,
        type: 'payment.recovered',
        causeKey: `payment.recovered:${paid.id}`,
        data: { invoice: paid.id, source: 'reconcile' },
      });
  }
}
