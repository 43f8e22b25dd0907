import type Stripe from 'stripe';

/**
 * Everything Tollgate prints on an invoice PDF, built from the Stripe invoice (the source of
 * truth for amounts, lines and the fields frozen at finalization) plus what only we know
 * (seller details from configuration, the org's tax id as a fallback). Pure: no I/O, so the
 * layout can be tested without Stripe.
 */
export interface InvoiceDocument {
  seller: { name: string; lines: string[] };
  number: string;
  status: 'PAID' | 'DUE' | 'VOID' | 'UNCOLLECTIBLE' | 'DRAFT';
  currency: string;
  issuedAt: number;
  dueAt: number | null;
  paidAt: number | null;
  /** "Net 30" style terms for invoices paid by bank transfer; null for automatic card charges. */
  terms: string | null;
  collection: 'charge_automatically' | 'send_invoice';
  billTo: { name: string | null; email: string | null; address: string[] };
  /** PO number, tax ids and other custom fields, in print order. */
  fields: { label: string; value: string }[];
  period: { start: number; end: number } | null;
  lines: InvoiceDocumentLine[];
  subtotal: number;
  discounts: { label: string; amount: number }[];
  taxes: { label: string; amount: number }[];
  total: number;
  /** Customer balance or credit applied (total − amount due), when any. */
  balanceApplied: number;
  amountPaid: number;
  amountRemaining: number;
  memo: string | null;
  footer: string | null;
  payUrl: string | null;
}

export interface InvoiceDocumentLine {
  description: string;
  period: { start: number; end: number } | null;
  quantity: number | null;
  amount: number;
  proration: boolean;
}

export interface InvoiceDocumentInput {
  invoice: Stripe.Invoice;
  /** Every line (the invoice embeds only the first page of them). */
  lines: Stripe.InvoiceLineItem[];
  seller: { name?: string | undefined; address?: string[] | undefined; taxId?: string | undefined };
  /** The org's tax id, printed when the invoice itself carries none. */
  orgTaxId: { type: string | null; value: string } | null;
}

const STATUS: Record<string, InvoiceDocument['status']> = {
  paid: 'PAID',
  open: 'DUE',
  void: 'VOID',
  uncollectible: 'UNCOLLECTIBLE',
  draft: 'DRAFT',
};

const TAX_ID_LABEL: Record<string, string> = {
  eu_vat: 'VAT number',
  gb_vat: 'VAT number',
  us_ein: 'EIN',
  ca_bn: 'Business number',
  au_abn: 'ABN',
  de_stn: 'Steuernummer',
  in_gst: 'GSTIN',
};

const DAY = 86_400;

export function buildInvoiceDocument(input: InvoiceDocumentInput): InvoiceDocument {
  const { invoice: inv, lines } = input;
  const issuedAt = inv.status_transitions.finalized_at ?? inv.effective_at ?? inv.created;
  const sendInvoice = inv.collection_method === 'send_invoice';
  const fields = (inv.custom_fields ?? []).map((f) => ({ label: f.name, value: f.value }));
  const printed = new Set(fields.map((f) => f.value));
  for (const t of inv.customer_tax_ids ?? []) {
    if (t.value && !printed.has(t.value)) {
      fields.push({ label: TAX_ID_LABEL[t.type] ?? 'Tax ID', value: t.value });
      printed.add(t.value);
    }
  }
  if (input.orgTaxId && !printed.has(input.orgTaxId.value))
    fields.push({ label: TAX_ID_LABEL[input.orgTaxId.type ?? ''] ?? 'Tax ID', value: input.orgTaxId.value });

  const sellerLines = [...(input.seller.address ?? [])];
  if (input.seller.taxId) sellerLines.push(`Tax ID: ${input.seller.taxId}`);
  const discountTotal = (inv.total_discount_amounts ?? []).reduce((s, d) => s + d.amount, 0);
  const taxTotal = (inv.total_taxes ?? []).reduce((s, t) => s + t.amount, 0);
  const netDays = sendInvoice && inv.due_date !== null ? Math.round((inv.due_date - issuedAt) / DAY) : null;

  return {
    seller: { name: input.seller.name || inv.account_name || 'Tollgate', lines: sellerLines },
    number: inv.number ?? 'DRAFT',
    status: STATUS[inv.status ?? 'draft'] ?? 'DUE',
    currency: inv.currency,
    issuedAt,
    dueAt: sendInvoice ? inv.due_date : null,
    paidAt: inv.status_transitions.paid_at,
    terms: netDays === null ? null : netDays <= 0 ? 'Due on receipt' : `Net ${netDays}`,
    collection: sendInvoice ? 'send_invoice' : 'charge_automatically',
    billTo: {
      name: inv.customer_name,
      email: inv.customer_email,
      address: addressLines(inv.customer_address),
    },
    fields,
    period: inv.period_end > inv.period_start ? { start: inv.period_start, end: inv.period_end } : null,
    lines: lines.map((l) => ({
      description: l.description ?? '',
      period: l.period.end > l.period.start ? l.period : null,
      quantity: l.quantity,
      amount: l.amount,
      proration: isProration(l),
    })),
    subtotal: inv.subtotal,
    discounts: discountTotal
      ? (inv.total_discount_amounts ?? []).map((d) => ({
          label: discountLabel(d.discount),
          amount: d.amount,
        }))
      : [],
    taxes: taxTotal ? [{ label: 'Tax', amount: taxTotal }] : [],
    total: inv.total,
    balanceApplied: inv.status === 'draft' ? 0 : inv.total - inv.amount_due,
    amountPaid: inv.amount_paid,
    amountRemaining: inv.amount_remaining,
    memo: inv.description,
    footer: inv.footer,
    payUrl: inv.status === 'open' && sendInvoice ? (inv.hosted_invoice_url ?? null) : null,
  };
}

function isProration(l: Stripe.InvoiceLineItem): boolean {
  return Boolean(l.parent?.subscription_item_details?.proration || l.parent?.invoice_item_details?.proration);
}

function discountLabel(d: string | Stripe.Discount | Stripe.DeletedDiscount): string {
  if (typeof d === 'string') return 'Discount';
  const coupon = 'source' in d ? d.source?.coupon : null;
  if (coupon && typeof coupon !== 'string')
    return coupon.name ?? (coupon.percent_off ? `${coupon.percent_off}% off` : 'Discount');
  return 'Discount';
}

function addressLines(a: Stripe.Address | null): string[] {
  if (!a) return [];
  const region = [a.state, a.postal_code].filter(Boolean).join(' ');
  return [a.line1, a.line2, [a.city, region].filter(Boolean).join(', '), a.country].filter((s): s is string =>
    Boolean(s),
  );
}
