import { sql } from 'drizzle-orm';
import type Stripe from 'stripe';
import type { Tx } from '../../db/client.ts';
import { invoices } from '../../db/schema/index.ts';
import type { BalanceChange } from '../credit-alerts/afterBalanceChange.ts';
import { grantPeriodCredits } from '../credits/grantPeriodCredits.ts';

const toDate = (s: number | null | undefined) => (s ? new Date(s * 1000) : null);
const idOf = (v: string | { id: string } | null | undefined) => (typeof v === 'string' ? v : (v?.id ?? null));

/**
 * Writes the projection of one Stripe invoice in the caller's org transaction (syncInvoices, the
 * PDF route and the webhook handlers share it). `observedAt` (ms) is when the object was read
 * from Stripe: a write observed earlier than the stored one is ignored, so a slow sync or a late
 * webhook never regresses a newer state. Returns false when it was stale.
 * A paid subscription invoice also grants the period's credits here, once (every path that
 * applies an invoice comes through this function); the balance changes are appended to
 * `creditChanges` for the caller to hand to afterBalanceChange once it has committed.
 */
export async function applyInvoice(
  tx: Tx,
  orgId: string,
  invoice: Stripe.Invoice,
  observedAt: number,
  creditChanges?: BalanceChange[],
): Promise<boolean> {
  const row = {
    orgId,
    customerId: idOf(invoice.customer as string | { id: string } | null) ?? '',
    subscriptionId: idOf(invoice.parent?.subscription_details?.subscription ?? null),
    number: invoice.number,
    status: invoice.status ?? 'draft',
    billingReason: invoice.billing_reason,
    collectionMethod: invoice.collection_method,
    currency: invoice.currency,
    subtotal: invoice.subtotal,
    total: invoice.total,
    amountDue: invoice.amount_due,
    amountPaid: invoice.amount_paid,
    amountRemaining: invoice.amount_remaining,
    attemptCount: invoice.attempt_count,
    hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
    invoicePdf: invoice.invoice_pdf ?? null,
    periodStart: toDate(invoice.period_start),
    periodEnd: toDate(invoice.period_end),
    dueDate: toDate(invoice.due_date),
    paidAt: toDate(invoice.status_transitions.paid_at),
    nextPaymentAttempt: toDate(invoice.next_payment_attempt),
    stripeCreatedAt: new Date(invoice.created * 1000),
    stripeUpdatedAt: observedAt,
  };
  const written = await tx
    .insert(invoices)
    .values({ id: invoice.id, ...row })
    .onConflictDoUpdate({
      target: invoices.id,
      set: row,
      where: sql`${invoices.stripeUpdatedAt} <= ${observedAt} AND ${invoices.orgId} = ${orgId}`,
    })
    .returning({ id: invoices.id });
  const changes = await grantPeriodCredits(tx, orgId, invoice, new Date(observedAt));
  creditChanges?.push(...changes);
  return written.length > 0;
}
