/**
 * One-off invoices and invoice items: drafts, finalization and numbering, payment (default
 * payment method chain, 3-D Secure, out of band), void, uncollectible, send, delete,
 * auto_advance, lines, balances, discounts, list / search, the hosted page and the PDF.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  APRIL_1_2027,
  advance,
  customerOnClock,
  eventsAbout,
  expectInOrder,
  types,
} from './billing-helpers.ts';
import { startTestEmulator, type TestEmulator } from './helpers.ts';

let t: TestEmulator;
let product: Stripe.Product;
let price: Stripe.Price;

beforeAll(async () => {
  t = await startTestEmulator();
  product = await t.stripe.products.create({ name: 'Consulting' });
  price = await t.stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 1250 });
});
afterAll(() => t.stop());

async function draftWithItems(customer: string) {
  await t.stripe.invoiceItems.create({ customer, amount: 2000, currency: 'usd', description: 'Setup fee' });
  await t.stripe.invoiceItems.create({ customer, pricing: { price: price.id }, quantity: 3 });
  return t.stripe.invoices.create({
    customer,
    pending_invoice_items_behavior: 'include',
    description: 'April work',
  });
}

describe('invoices', () => {
  test('draft → finalize → pay: lines, totals, number, URLs, invoice payment and events', async () => {
    const { customer } = await customerOnClock(t.stripe);
    const draft = await draftWithItems(customer.id);
    expect(draft).toMatchObject({
      status: 'draft',
      billing_reason: 'manual',
      auto_advance: false,
      number: null,
      subtotal: 5750,
      total: 5750,
      amount_due: 5750,
      description: 'April work',
      parent: null,
      hosted_invoice_url: null,
    });
    expect(draft.lines.data.map((l) => [l.description, l.amount, l.quantity])).toEqual([
      ['Setup fee', 2000, 1],
      ['Consulting', 3750, 3],
    ]);
    expect(draft.lines.data[1]!.parent).toMatchObject({
      type: 'invoice_item_details',
      invoice_item_details: { proration: false, subscription: null },
    });
    const edited = await t.stripe.invoices.update(draft.id, {
      footer: 'Thanks!',
      metadata: { order: 'o_9' },
      custom_fields: [{ name: 'PO', value: '42' }],
    });
    expect(edited).toMatchObject({
      footer: 'Thanks!',
      metadata: { order: 'o_9' },
      custom_fields: [{ name: 'PO', value: '42' }],
    });
    const finalized = await t.stripe.invoices.finalizeInvoice(draft.id);
    expect(finalized).toMatchObject({
      status: 'open',
      number: `${customer.invoice_prefix}-0001`,
      hosted_invoice_url: `${t.emulator.url}/_emulator/invoice/${draft.id}`,
      invoice_pdf: `${t.emulator.url}/_emulator/invoice/${draft.id}/pdf`,
      status_transitions: { finalized_at: APRIL_1_2027 },
      attempt_count: 0,
    });
    await expect(t.stripe.invoices.finalizeInvoice(draft.id)).rejects.toMatchObject({ statusCode: 400 });
    await expect(
      t.stripe.invoices.update(draft.id, { collection_method: 'send_invoice' }),
    ).rejects.toMatchObject({
      statusCode: 400,
    });
    const paid = await t.stripe.invoices.pay(draft.id);
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 5750, amount_remaining: 0, attempt_count: 1 });
    const [payment] = (await t.stripe.invoicePayments.list({ invoice: draft.id })).data;
    expect(payment).toMatchObject({ status: 'paid', amount_paid: 5750, currency: 'usd', invoice: draft.id });
    expect(await t.stripe.invoicePayments.retrieve(payment!.id)).toMatchObject({ id: payment!.id });
    const pi = await t.stripe.paymentIntents.retrieve(payment!.payment.payment_intent as string);
    expect(pi).toMatchObject({
      status: 'succeeded',
      amount: 5750,
      description: `Invoice ${finalized.number}`,
    });
    const events = types(await eventsAbout(t.stripe, [draft.id, pi.id]));
    expectInOrder(events, [
      'invoice.created',
      'invoice.updated',
      'invoice.finalized',
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'invoice.paid',
      'invoice.payment_succeeded',
      'invoice_payment.paid',
    ]);
    await expect(t.stripe.invoices.pay(draft.id)).rejects.toMatchObject({ statusCode: 400 });
    // The next invoice of the customer gets the next number.
    await t.stripe.invoiceItems.create({ customer: customer.id, amount: 100, currency: 'usd' });
    const second = await t.stripe.invoices.create({
      customer: customer.id,
      pending_invoice_items_behavior: 'include',
    });
    expect((await t.stripe.invoices.finalizeInvoice(second.id)).number).toBe(
      `${customer.invoice_prefix}-0002`,
    );
  });

  test('payment method resolution: invoice default, then the customer default; explicit payment_method wins', async () => {
    const { customer } = await customerOnClock(t.stripe); // customer default: visa
    const failing = await t.stripe.paymentMethods.attach('pm_card_chargeCustomerFail', {
      customer: customer.id,
    });
    const draft = await draftWithItems(customer.id);
    await t.stripe.invoices.update(draft.id, { default_payment_method: failing.id });
    await expect(t.stripe.invoices.pay(draft.id)).rejects.toMatchObject({
      statusCode: 402,
      code: 'card_declined',
    });
    let invoice = await t.stripe.invoices.retrieve(draft.id);
    expect(invoice).toMatchObject({ status: 'open', attempted: true, attempt_count: 1 });
    await t.stripe.invoices.update(draft.id, { default_payment_method: '' });
    invoice = await t.stripe.invoices.pay(draft.id);
    expect(invoice.status).toBe('paid');
    const payments = (await t.stripe.invoicePayments.list({ invoice: draft.id })).data;
    const pi = await t.stripe.paymentIntents.retrieve(payments[0]!.payment.payment_intent as string);
    expect(pi.payment_method).toBe(customer.invoice_settings.default_payment_method);
    expect(types(await eventsAbout(t.stripe, [draft.id]))).toEqual(
      expect.arrayContaining(['invoice.payment_failed', 'invoice.paid']),
    );
  });

  test('3-D Secure: pay answers 402 requires_action, the customer authenticates, the invoice is paid', async () => {
    const { customer } = await customerOnClock(t.stripe, null);
    const pm = await t.stripe.paymentMethods.attach('pm_card_threeDSecure2Required', {
      customer: customer.id,
    });
    const draft = await draftWithItems(customer.id);
    const error = await t.stripe.invoices
      .pay(draft.id, { payment_method: pm.id })
      .catch((e: Stripe.errors.StripeError) => e);
    expect(error).toMatchObject({ statusCode: 402, code: 'invoice_payment_intent_requires_action' });
    const [payment] = (await t.stripe.invoicePayments.list({ invoice: draft.id })).data;
    const piId = payment!.payment.payment_intent as string;
    expect((await t.stripe.paymentIntents.retrieve(piId)).status).toBe('requires_action');
    expect(types(await eventsAbout(t.stripe, [draft.id]))).toContain('invoice.payment_action_required');
    t.emulator.control.authenticate(piId, 'succeed');
    expect(await t.stripe.invoices.retrieve(draft.id)).toMatchObject({ status: 'paid', amount_paid: 5750 });
  });

  test('without any payment method, pay is refused and nothing is attempted', async () => {
    const { customer } = await customerOnClock(t.stripe, null);
    const draft = await draftWithItems(customer.id);
    await expect(t.stripe.invoices.pay(draft.id)).rejects.toMatchObject({ statusCode: 400 });
    expect(await t.stripe.invoices.retrieve(draft.id)).toMatchObject({ status: 'open', attempted: false });
  });

  test('paid out of band: invoice.paid without invoice.payment_succeeded', async () => {
    const { customer } = await customerOnClock(t.stripe, null);
    const draft = await draftWithItems(customer.id);
    const paid = await t.stripe.invoices.pay(draft.id, { paid_out_of_band: true });
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 5750, amount_paid_off_stripe: 5750 });
    const events = types(await eventsAbout(t.stripe, [draft.id]));
    expect(events).toContain('invoice.paid');
    expect(events).not.toContain('invoice.payment_succeeded');
  });

  test('void cancels the PaymentIntent; uncollectible invoices can still be paid', async () => {
    const { customer } = await customerOnClock(t.stripe);
    const a = await t.stripe.invoices.finalizeInvoice((await draftWithItems(customer.id)).id);
    const voided = await t.stripe.invoices.voidInvoice(a.id);
    expect(voided).toMatchObject({ status: 'void', status_transitions: { voided_at: APRIL_1_2027 } });
    const [payment] = (await t.stripe.invoicePayments.list({ invoice: a.id })).data;
    expect(payment!.status).toBe('canceled');
    expect((await t.stripe.paymentIntents.retrieve(payment!.payment.payment_intent as string)).status).toBe(
      'canceled',
    );
    await expect(t.stripe.invoices.pay(a.id)).rejects.toMatchObject({ statusCode: 400 });
    await expect(t.stripe.invoices.voidInvoice(a.id)).rejects.toMatchObject({ statusCode: 400 });

    const b = await t.stripe.invoices.finalizeInvoice((await draftWithItems(customer.id)).id);
    expect((await t.stripe.invoices.markUncollectible(b.id)).status).toBe('uncollectible');
    expect((await t.stripe.invoices.pay(b.id)).status).toBe('paid');
    const events = types(await eventsAbout(t.stripe, [a.id, b.id]));
    expect(events).toEqual(
      expect.arrayContaining(['invoice.voided', 'invoice.marked_uncollectible', 'invoice.paid']),
    );
  });

  test('send_invoice: due date from days_until_due, sent, payable on the hosted page; PDF', async () => {
    const { customer } = await customerOnClock(t.stripe, null);
    await t.stripe.invoiceItems.create({
      customer: customer.id,
      amount: 9900,
      currency: 'usd',
      description: 'Audit',
    });
    const draft = await t.stripe.invoices.create({
      customer: customer.id,
      collection_method: 'send_invoice',
      days_until_due: 30,
      pending_invoice_items_behavior: 'include',
    });
    expect(draft.due_date).toBe(APRIL_1_2027 + 30 * 86_400);
    const sent = await t.stripe.invoices.sendInvoice(draft.id);
    expect(sent).toMatchObject({ status: 'open', next_payment_attempt: null });
    expect(types(await eventsAbout(t.stripe, [draft.id]))).toEqual(
      expect.arrayContaining(['invoice.finalized', 'invoice.sent']),
    );
    const html = await (await fetch(sent.hosted_invoice_url!)).text();
    expect(html).toContain('Audit');
    expect(html).toContain('$99.00');
    const pdf = await fetch(sent.invoice_pdf!);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const body = await pdf.text();
    expect(body.startsWith('%PDF-1.4')).toBe(true);
    expect(body.trimEnd().endsWith('%%EOF')).toBe(true);
    const xref = Number(/startxref\n(\d+)/.exec(body)![1]);
    expect(body.slice(xref, xref + 4)).toBe('xref');
    expect(body).toContain(`(Invoice ${sent.number})`);
    expect((await fetch(`${t.emulator.url}/_emulator/invoice/in_missing`)).status).toBe(404);
  });

  test('auto_advance: a one-off invoice finalizes an hour later and is charged', async () => {
    const { customer, clock } = await customerOnClock(t.stripe);
    await t.stripe.invoiceItems.create({ customer: customer.id, amount: 4200, currency: 'usd' });
    const draft = await t.stripe.invoices.create({
      customer: customer.id,
      auto_advance: true,
      pending_invoice_items_behavior: 'include',
    });
    expect(draft).toMatchObject({
      automatically_finalizes_at: APRIL_1_2027 + 3600,
      next_payment_attempt: APRIL_1_2027 + 3600,
    });
    await advance(t.stripe, clock.id, APRIL_1_2027 + 3599);
    expect((await t.stripe.invoices.retrieve(draft.id)).status).toBe('draft');
    await advance(t.stripe, clock.id, APRIL_1_2027 + 3600);
    expect(await t.stripe.invoices.retrieve(draft.id)).toMatchObject({ status: 'paid', amount_paid: 4200 });
  });

  test('delete a draft: its items are pending again; finalized invoices cannot be deleted', async () => {
    const { customer } = await customerOnClock(t.stripe);
    const draft = await draftWithItems(customer.id);
    expect((await t.stripe.invoiceItems.list({ customer: customer.id, pending: true })).data).toHaveLength(0);
    expect(await t.stripe.invoices.del(draft.id)).toMatchObject({ id: draft.id, deleted: true });
    expect((await t.stripe.invoiceItems.list({ customer: customer.id, pending: true })).data).toHaveLength(2);
    expect(types(await eventsAbout(t.stripe, [draft.id]))).toContain('invoice.deleted');
    const other = await t.stripe.invoices.finalizeInvoice(
      (
        await t.stripe.invoices.create({
          customer: customer.id,
          pending_invoice_items_behavior: 'include',
        })
      ).id,
    );
    await expect(t.stripe.invoices.del(other.id)).rejects.toMatchObject({ statusCode: 400 });
  });

  test('customer balance and an invoice discount in the totals', async () => {
    const { customer } = await customerOnClock(t.stripe);
    await t.stripe.customers.update(customer.id, { balance: 300 }); // owed from before
    const coupon = await t.stripe.coupons.create({ amount_off: 500, currency: 'usd', duration: 'once' });
    await t.stripe.invoiceItems.create({ customer: customer.id, amount: 2000, currency: 'usd' });
    const draft = await t.stripe.invoices.create({
      customer: customer.id,
      pending_invoice_items_behavior: 'include',
      discounts: [{ coupon: coupon.id }],
    });
    expect(draft).toMatchObject({ subtotal: 2000, total: 1500, amount_due: 1800, starting_balance: 300 });
    expect(draft.total_discount_amounts).toEqual([{ amount: 500, discount: draft.discounts[0] }]);
    const paid = await t.stripe.invoices.pay(draft.id);
    expect(paid).toMatchObject({ amount_paid: 1800, ending_balance: 0 });
    expect(((await t.stripe.customers.retrieve(customer.id)) as Stripe.Customer).balance).toBe(0);
  });

  test('lines: 10 embedded with has_more, the rest through the lines list', async () => {
    const { customer } = await customerOnClock(t.stripe);
    for (let i = 1; i <= 12; i++) {
      await t.stripe.invoiceItems.create({
        customer: customer.id,
        amount: i * 100,
        currency: 'usd',
        description: `L${i}`,
      });
    }
    const draft = await t.stripe.invoices.create({
      customer: customer.id,
      pending_invoice_items_behavior: 'include',
    });
    expect(draft.lines.data).toHaveLength(10);
    expect(draft.lines.has_more).toBe(true);
    expect(draft.total).toBe(7800);
    const page1 = await t.stripe.invoices.listLineItems(draft.id, { limit: 5 });
    const page2 = await t.stripe.invoices.listLineItems(draft.id, {
      limit: 10,
      starting_after: page1.data[4]!.id,
    });
    expect([...page1.data, ...page2.data].map((l) => l.description)).toEqual(
      Array.from({ length: 12 }, (_, i) => `L${i + 1}`),
    );
    expect(page2.has_more).toBe(false);
  });

  test('list filters and search', async () => {
    const { customer } = await customerOnClock(t.stripe);
    const open = await t.stripe.invoices.finalizeInvoice((await draftWithItems(customer.id)).id);
    const draft = await draftWithItems(customer.id);
    expect(
      (await t.stripe.invoices.list({ customer: customer.id, status: 'open' })).data.map((i) => i.id),
    ).toEqual([open.id]);
    expect((await t.stripe.invoices.list({ customer: customer.id })).data.map((i) => i.id)).toEqual([
      draft.id,
      open.id,
    ]);
    const found = await t.stripe.invoices.search({ query: `customer:'${customer.id}' AND status:'draft'` });
    expect(found.data.map((i) => i.id)).toEqual([draft.id]);
    await expect(t.stripe.invoices.search({ query: 'colour:"red"' })).rejects.toMatchObject({
      statusCode: 400,
    });
  });
});

describe('invoice items', () => {
  test('create, update and delete while pending; locked once the invoice is finalized', async () => {
    const { customer } = await customerOnClock(t.stripe);
    const item = await t.stripe.invoiceItems.create({
      customer: customer.id,
      pricing: { price: price.id },
      quantity: 2,
      period: { start: APRIL_1_2027, end: APRIL_1_2027 + 86_400 },
      metadata: { k: 'v' },
    });
    expect(item).toMatchObject({
      object: 'invoiceitem',
      amount: 2500,
      currency: 'usd',
      quantity: 2,
      invoice: null,
      proration: false,
      description: 'Consulting',
      pricing: { type: 'price_details', price_details: { price: price.id, product: product.id } },
      period: { start: APRIL_1_2027, end: APRIL_1_2027 + 86_400 },
      test_clock: customer.test_clock,
    });
    expect((await t.stripe.invoiceItems.update(item.id, { quantity: 4 })).amount).toBe(5000);
    const decimal = await t.stripe.invoiceItems.create({
      customer: customer.id,
      currency: 'usd',
      unit_amount_decimal: Stripe.Decimal.from('33.5'),
      quantity: 3,
    });
    expect(decimal.amount).toBe(101);
    await expect(t.stripe.invoiceItems.create({ customer: customer.id, amount: 100 })).rejects.toMatchObject({
      statusCode: 400,
      param: 'currency',
    });
    expect(await t.stripe.invoiceItems.del(decimal.id)).toMatchObject({ deleted: true });
    expect(types(await eventsAbout(t.stripe, [decimal.id]))).toEqual([
      'invoiceitem.created',
      'invoiceitem.deleted',
    ]);
    const invoice = await t.stripe.invoices.create({
      customer: customer.id,
      pending_invoice_items_behavior: 'include',
    });
    // Items added to a draft show up in its lines.
    await t.stripe.invoiceItems.create({
      customer: customer.id,
      amount: 700,
      currency: 'usd',
      invoice: invoice.id,
    });
    expect((await t.stripe.invoices.retrieve(invoice.id)).total).toBe(5700);
    await t.stripe.invoices.finalizeInvoice(invoice.id);
    await expect(t.stripe.invoiceItems.update(item.id, { quantity: 1 })).rejects.toMatchObject({
      statusCode: 400,
    });
    await expect(t.stripe.invoiceItems.del(item.id)).rejects.toMatchObject({ statusCode: 400 });
    expect((await t.stripe.invoiceItems.list({ invoice: invoice.id })).data).toHaveLength(2);
  });
});
