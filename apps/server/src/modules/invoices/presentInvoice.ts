import type { InvoiceRow } from './repo.ts';

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** The API's view of an invoice: amounts in minor units, ISO dates, links to pay and download. */
export function presentInvoice(row: InvoiceRow, publicUrl: string) {
  return {
    id: row.id,
    number: row.number,
    status: row.status,
    billing_reason: row.billingReason,
    collection_method: row.collectionMethod,
    currency: row.currency,
    subtotal: row.subtotal,
    total: row.total,
    amount_due: row.amountDue,
    amount_paid: row.amountPaid,
    amount_remaining: row.amountRemaining,
    created: row.stripeCreatedAt.toISOString(),
    period_start: iso(row.periodStart),
    period_end: iso(row.periodEnd),
    due_date: iso(row.dueDate),
    paid_at: iso(row.paidAt),
    subscription_id: row.subscriptionId,
    hosted_invoice_url: row.hostedInvoiceUrl,
    pdf_url: `${publicUrl}/v1/orgs/${row.orgId}/invoices/${row.id}/pdf`,
  };
}

export type InvoiceView = ReturnType<typeof presentInvoice>;
