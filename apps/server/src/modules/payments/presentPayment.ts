import type { PaymentWithInvoice } from './historyRepo.ts';

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** One payment transaction as the API shows it: Stripe ids, integer cents, card summary only. */
export function presentPayment(row: PaymentWithInvoice) {
  return {
    id: row.id,
    payment_intent_id: row.id.startsWith('pi_') ? row.id : null,
    charge_id: row.chargeId,
    invoice_id: row.invoiceId,
    invoice_number: row.invoiceNumber,
    customer_id: row.customerId,
    amount_cents: row.amountCents,
    amount_refunded_cents: row.amountRefundedCents,
    currency: row.currency,
    status: row.status,
    card_brand: row.cardBrand,
    card_last4: row.cardLast4,
    description: row.description,
    failure_reason: row.failureReason,
    created_at: row.stripeCreatedAt.toISOString(),
    paid_at: iso(row.paidAt),
    refunded_at: iso(row.refundedAt),
  };
}

export type PaymentView = ReturnType<typeof presentPayment>;
