import type Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { pdfText } from '../../../test/pdfText.ts';
import { buildInvoiceDocument } from './invoiceDocument.ts';
import { formatDate, renderInvoicePdfBuffer } from './renderInvoicePdf.ts';

const T0 = Date.UTC(2026, 10, 24, 12) / 1000; // 24 Nov 2026
const DAY = 86_400;

function line(over: Partial<Stripe.InvoiceLineItem> & { proration?: boolean }): Stripe.InvoiceLineItem {
  const { proration = false, ...rest } = over;
  return {
    id: 'il_1',
    object: 'line_item',
    amount: 0,
    currency: 'usd',
    description: null,
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: 'in_1',
    livemode: false,
    metadata: {},
    parent: {
      type: 'subscription_item_details',
      invoice_item_details: null,
      subscription_item_details: { proration } as Stripe.InvoiceLineItem.Parent.SubscriptionItemDetails,
    },
    period: { start: T0, end: T0 + 30 * DAY },
    pretax_credit_amounts: [],
    pricing: null,
    quantity: 1,
    subscription: 'sub_1',
    subtotal: 0,
    taxes: [],
    ...rest,
  } as Stripe.InvoiceLineItem;
}

function invoice(over: Partial<Stripe.Invoice> = {}): Stripe.Invoice {
  return {
    id: 'in_1',
    object: 'invoice',
    account_name: 'Acme Billing Ltd',
    amount_due: 7_900,
    amount_paid: 0,
    amount_remaining: 7_900,
    billing_reason: 'subscription_create',
    collection_method: 'send_invoice',
    created: T0,
    currency: 'usd',
    custom_fields: [
      { name: 'PO number', value: 'PO-2026-0042' },
      { name: 'Tax ID', value: 'DE123456789' },
    ],
    customer: 'cus_1',
    customer_address: {
      line1: '1 School Road',
      line2: null,
      city: 'Springfield',
      state: 'IL',
      postal_code: '62701',
      country: 'US',
    },
    customer_email: 'ap@school.test',
    customer_name: 'Springfield Elementary',
    customer_tax_ids: [],
    description: null,
    due_date: T0 + 30 * DAY,
    effective_at: T0,
    footer: null,
    hosted_invoice_url: 'http://127.0.0.1:12111/_emulator/invoice/in_1',
    number: 'ABCD1234-0001',
    period_start: T0,
    period_end: T0,
    status: 'open',
    status_transitions: { finalized_at: T0, paid_at: null, voided_at: null, marked_uncollectible_at: null },
    subtotal: 7_900,
    total: 7_900,
    total_discount_amounts: [],
    total_taxes: [],
    ...over,
  } as Stripe.Invoice;
}

const seller = { name: 'Tollgate Test Seller', address: ['9 Market St', 'Dublin, IE'], taxId: 'IE9999999X' };

describe('invoice PDF', () => {
  it('prints the seller, customer, number, PO number, tax id, net-30 terms, lines and totals', async () => {
    const doc = buildInvoiceDocument({
      invoice: invoice(),
      lines: [line({ description: '1 × Professional (at $79.00 / month)', amount: 7_900 })],
      seller,
      orgTaxId: { type: 'eu_vat', value: 'DE123456789' },
    });
    const bytes = await renderInvoicePdfBuffer(doc);
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    const [page, ...rest] = await pdfText(bytes);
    expect(rest).toEqual([]);
    for (const text of [
      'Tollgate Test Seller',
      '9 Market St',
      'Tax ID: IE9999999X',
      'INVOICE',
      'DUE',
      'ABCD1234-0001',
      'Springfield Elementary',
      '1 School Road',
      'Springfield, IL 62701',
      'ap@school.test',
      'PO number',
      'PO-2026-0042',
      'DE123456789',
      'Net 30',
      `Date due ${formatDate(T0 + 30 * DAY)}`,
      '1 × Professional (at $79.00 / month)',
      `${formatDate(T0)} – ${formatDate(T0 + 30 * DAY)}`,
      'Total $79.00',
      'Amount due $79.00',
      `Please pay $79.00 by 24 Dec 2026`,
      'Pay online: http://127.0.0.1:12111/_emulator/invoice/in_1',
    ])
      expect(page).toContain(text);
    // The org's tax id equals the invoice's custom field: printed once, not twice.
    expect(page!.match(/DE123456789/g)).toHaveLength(1);
  });

  it('a paid card invoice with a proration credit, a discount and a balance reads PAID with exact totals', async () => {
    const doc = buildInvoiceDocument({
      invoice: invoice({
        collection_method: 'charge_automatically',
        due_date: null,
        status: 'paid',
        custom_fields: null,
        subtotal: 5_000,
        total_discount_amounts: [
          {
            amount: 1_000,
            discount: {
              id: 'di_1',
              source: { coupon: { name: 'LAUNCH20', percent_off: 20 } },
            } as Stripe.Discount,
          },
        ],
        total: 4_000,
        amount_due: 3_500,
        amount_paid: 3_500,
        amount_remaining: 0,
        status_transitions: {
          finalized_at: T0,
          paid_at: T0 + 60,
          voided_at: null,
          marked_uncollectible_at: null,
        },
      }),
      lines: [
        line({ description: 'Unused time on Basic after 24 Nov 2026', amount: -2_900, proration: true }),
        line({
          description: 'Remaining time on Professional after 24 Nov 2026',
          amount: 7_900,
          proration: true,
        }),
      ],
      seller: {},
      orgTaxId: null,
    });
    expect(doc.lines.map((l) => l.proration)).toEqual([true, true]);
    const [page] = await pdfText(await renderInvoicePdfBuffer(doc));
    for (const text of [
      'Acme Billing Ltd', // no configured seller: the Stripe account's name
      'PAID',
      'Paid on 24 Nov 2026',
      'Charged to the card on file',
      'Unused time on Basic after 24 Nov 2026',
      '-$29.00',
      'Remaining time on Professional after 24 Nov 2026',
      'Subtotal $50.00',
      'LAUNCH20 -$10.00',
      'Total $40.00',
      'Applied balance -$5.00',
      'Amount paid $35.00',
      'Amount due $0.00',
    ])
      expect(page).toContain(text);
    expect(page).not.toContain('Pay online');
    expect(page).not.toContain('PO number');
  });

  it('a void invoice says so; long invoices continue on more pages without losing lines', async () => {
    const lines = Array.from({ length: 60 }, (_, i) =>
      line({ id: `il_${i}`, description: `Usage line ${i + 1}`, amount: 100 + i }),
    );
    const doc = buildInvoiceDocument({
      invoice: invoice({ status: 'void', subtotal: 7_770, total: 7_770 }),
      lines,
      seller,
      orgTaxId: null,
    });
    const pages = await pdfText(await renderInvoicePdfBuffer(doc));
    expect(pages.length).toBeGreaterThan(1);
    const all = pages.join('\n');
    for (let i = 1; i <= 60; i++) expect(all).toContain(`Usage line ${i} `);
    expect(pages[1]).toContain('Description'); // the table header repeats
    expect(all).toContain('VOID');
    expect(all).toContain('This invoice was voided');
    expect(all).not.toContain('Pay online');
  });
});
