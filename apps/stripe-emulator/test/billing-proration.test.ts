/**
 * Changing a subscription mid-period (flow 5): prorations under each proration_behavior,
 * amounts to the cent from seconds, interval changes, tiered prices, subscription items,
 * payment behaviours of updates, and invoices.createPreview matching what is then charged.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  APRIL_1_2027,
  advance,
  type Catalog,
  catalog,
  customerOnClock,
  eventsAbout,
  period,
  types,
  verifiedDeliveries,
  WEBHOOK_SECRET,
} from './billing-helpers.ts';
import {
  startTestEmulator,
  startWebhookReceiver,
  type TestEmulator,
  type WebhookReceiver,
} from './helpers.ts';

const DAY = 86_400;
const APRIL = 30 * DAY;
const HALF_APRIL = APRIL_1_2027 + APRIL / 2;
const MAY_1 = APRIL_1_2027 + APRIL;

let t: TestEmulator;
let receiver: WebhookReceiver;
let prices: Catalog;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  t = await startTestEmulator({ webhookEndpoints: [{ url: receiver.url, secret: WEBHOOK_SECRET }] });
  prices = await catalog(t.stripe);
});
afterAll(async () => {
  await t.stop();
  await receiver.close();
});

/** An active $29/month subscription, with the clock moved to `at`. */
async function basicSubscription(at: number) {
  const { customer, clock } = await customerOnClock(t.stripe);
  const sub = await t.stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: prices.basic.id }],
  });
  if (at > APRIL_1_2027) await advance(t.stripe, clock.id, at);
  return { customer, clock, sub };
}

async function pendingItems(customer: string) {
  return (await t.stripe.invoiceItems.list({ customer, pending: true })).data.reverse();
}

/** The independent expectation: round(amount × remaining / period), from seconds. */
function prorated(amount: number, at: number, start: number, end: number): number {
  return Math.round((amount * (end - at)) / (end - start));
}

describe('upgrades', () => {
  test('create_prorations: credit -1450 and debit 3950 at exactly half of April, billed at renewal', async () => {
    const { customer, clock, sub } = await basicSubscription(HALF_APRIL);
    const itemId = sub.items.data[0]!.id;
    const updated = await t.stripe.subscriptions.update(sub.id, {
      items: [{ id: itemId, price: prices.pro.id }],
    });
    expect(updated.items.data).toHaveLength(1);
    expect(updated.items.data[0]).toMatchObject({ id: itemId, price: { id: prices.pro.id } });
    expect(period(updated)).toEqual(period(sub));
    expect(updated.latest_invoice).toBe(sub.latest_invoice);
    const items = await pendingItems(customer.id);
    expect(items.map((i) => [i.amount, i.description, i.proration])).toEqual([
      [-1450, 'Unused time on Pro after 16 Apr 2027', true],
      [3950, 'Remaining time on Pro after 16 Apr 2027', true],
    ]);
    expect(items[0]).toMatchObject({
      period: { start: HALF_APRIL, end: MAY_1 },
      parent: {
        type: 'subscription_details',
        subscription_details: { subscription: sub.id, subscription_item: itemId },
      },
      pricing: { price_details: { price: prices.basic.id } },
    });
    const events = await eventsAbout(t.stripe, [sub.id, customer.id]);
    const update = events.find((e) => e.type === 'customer.subscription.updated')!;
    const previousItems = (
      update.data.previous_attributes as { items: Stripe.ApiList<Stripe.SubscriptionItem> }
    ).items;
    expect(previousItems.data[0]!.price.id).toBe(prices.basic.id);
    expect(types(events).filter((x) => x === 'invoiceitem.created')).toHaveLength(2);
    await t.emulator.control.waitForDeliveries();
    expect(types(verifiedDeliveries(receiver, [sub.id, customer.id]))).toEqual(
      expect.arrayContaining(['customer.subscription.updated', 'invoiceitem.created']),
    );

    // The next renewal includes them: 7900 + 3950 - 1450.
    const preview = await t.stripe.invoices.createPreview({ subscription: sub.id });
    expect(preview).toMatchObject({
      total: 10_400,
      amount_due: 10_400,
      billing_reason: 'subscription_cycle',
    });
    await advance(t.stripe, clock.id, MAY_1 + 3600);
    const renewal = await t.stripe.invoices.retrieve(
      (await t.stripe.subscriptions.retrieve(sub.id)).latest_invoice as string,
    );
    expect(renewal).toMatchObject({
      status: 'paid',
      amount_paid: 10_400,
      billing_reason: 'subscription_cycle',
    });
    expect(renewal.lines.data.map((l) => l.amount).sort((a, b) => a - b)).toEqual([-1450, 3950, 7900]);
    expect(await pendingItems(customer.id)).toEqual([]);
  });

  test('always_invoice: a subscription_update invoice for the difference is paid now', async () => {
    const { customer, sub } = await basicSubscription(HALF_APRIL);
    const updated = await t.stripe.subscriptions.update(sub.id, {
      items: [{ id: sub.items.data[0]!.id, price: prices.pro.id }],
      proration_behavior: 'always_invoice',
      expand: ['latest_invoice'],
    });
    const invoice = updated.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({
      billing_reason: 'subscription_update',
      status: 'paid',
      total: 2500,
      amount_paid: 2500,
      parent: { subscription_details: { subscription: sub.id } },
    });
    expect(invoice.lines.data.map((l) => [l.amount, l.parent?.invoice_item_details?.proration])).toEqual([
      [-1450, true],
      [3950, true],
    ]);
    expect(await pendingItems(customer.id)).toEqual([]);
    const events = types(await eventsAbout(t.stripe, [sub.id, invoice.id]));
    expect(events).toEqual(
      expect.arrayContaining([
        'invoice.created',
        'invoice.finalized',
        'invoice.paid',
        'customer.subscription.updated',
      ]),
    );
  });

  test('none: the price changes without any proration', async () => {
    const { customer, clock, sub } = await basicSubscription(HALF_APRIL);
    await t.stripe.subscriptions.update(sub.id, {
      items: [{ id: sub.items.data[0]!.id, price: prices.pro.id }],
      proration_behavior: 'none',
    });
    expect(await pendingItems(customer.id)).toEqual([]);
    await advance(t.stripe, clock.id, MAY_1 + 3600);
    const renewal = await t.stripe.invoices.retrieve(
      (await t.stripe.subscriptions.retrieve(sub.id)).latest_invoice as string,
    );
    expect(renewal.amount_paid).toBe(7900);
  });

  test('amounts are exact to the second (any point in the period, with quantity)', async () => {
    const at = APRIL_1_2027 + 9 * DAY + 12_345;
    const { customer, sub } = await basicSubscription(at);
    await t.stripe.subscriptions.update(sub.id, {
      items: [{ id: sub.items.data[0]!.id, price: prices.pro.id, quantity: 3 }],
    });
    const [credit, debit] = await pendingItems(customer.id);
    expect(credit!.amount).toBe(-prorated(2900, at, APRIL_1_2027, MAY_1));
    expect(debit!.amount).toBe(prorated(3 * 7900, at, APRIL_1_2027, MAY_1));
    expect(debit!.description).toBe('Remaining time on 3 × Pro after 10 Apr 2027');
    expect(debit!.quantity).toBe(3);
  });

  test('tiered prices are prorated on their tier totals (graduated and volume)', async () => {
    const graduated = await t.stripe.prices.create({
      product: prices.product.id,
      currency: 'usd',
      recurring: { interval: 'month' },
      billing_scheme: 'tiered',
      tiers_mode: 'graduated',
      tiers: [
        { up_to: 5, unit_amount: 1000 },
        { up_to: 'inf', unit_amount: 500 },
      ],
    });
    const volume = await t.stripe.prices.create({
      product: prices.product.id,
      currency: 'usd',
      recurring: { interval: 'month' },
      billing_scheme: 'tiered',
      tiers_mode: 'volume',
      tiers: [
        { up_to: 5, unit_amount: 1000 },
        { up_to: 'inf', unit_amount: 700, flat_amount: 100 },
      ],
    });
    const { customer, clock } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [
        { price: graduated.id, quantity: 3 },
        { price: volume.id, quantity: 8 },
      ],
    });
    const first = await t.stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(first.lines.data.map((l) => l.amount)).toEqual([3000, 5700]);
    await advance(t.stripe, clock.id, HALF_APRIL);
    const graduatedItem = sub.items.data.find((i) => i.price.id === graduated.id)!;
    await t.stripe.subscriptionItems.update(graduatedItem.id, { quantity: 8 });
    const items = await pendingItems(customer.id);
    // 3 units = 3000; 8 units graduated = 5 × 1000 + 3 × 500 = 6500.
    expect(items.map((i) => i.amount)).toEqual([-1500, 3250]);
  });

  test('changing the interval (monthly → yearly) resets the anchor and invoices at once', async () => {
    const { sub } = await basicSubscription(HALF_APRIL);
    const updated = await t.stripe.subscriptions.update(sub.id, {
      items: [{ id: sub.items.data[0]!.id, price: prices.proYearly.id }],
      expand: ['latest_invoice'],
    });
    expect(updated.billing_cycle_anchor).toBe(HALF_APRIL);
    expect(period(updated)).toEqual({ start: HALF_APRIL, end: HALF_APRIL + 366 * DAY });
    const invoice = updated.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({
      billing_reason: 'subscription_update',
      status: 'paid',
      total: 79_000 - 1450,
    });
    expect(invoice.lines.data.map((l) => l.amount).sort((a, b) => a - b)).toEqual([-1450, 79_000]);
  });

  test('billing_cycle_anchor=now resets the period and bills it now', async () => {
    const { sub } = await basicSubscription(HALF_APRIL);
    const updated = await t.stripe.subscriptions.update(sub.id, {
      billing_cycle_anchor: { type: 'now' },
      proration_behavior: 'none',
      expand: ['latest_invoice'],
    });
    expect(period(updated)).toEqual({ start: HALF_APRIL, end: HALF_APRIL + 30 * DAY }); // Apr 16 → May 16
    expect(updated.latest_invoice).toMatchObject({ total: 2900, status: 'paid' });
  });

  test('during a trial items change without prorations', async () => {
    const { customer } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
      trial_period_days: 10,
    });
    const updated = await t.stripe.subscriptions.update(sub.id, {
      items: [{ id: sub.items.data[0]!.id, price: prices.pro.id }],
      proration_behavior: 'always_invoice',
    });
    expect(updated.status).toBe('trialing');
    expect(updated.latest_invoice).toBe(sub.latest_invoice);
    expect(await pendingItems(customer.id)).toEqual([]);
  });
});

describe('payment behaviours of updates', () => {
  test('error_if_incomplete: 402 and the subscription is unchanged', async () => {
    const { customer, sub } = await basicSubscription(HALF_APRIL);
    await t.stripe.paymentMethods
      .attach('pm_card_chargeCustomerFail', { customer: customer.id })
      .then((pm) =>
        t.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } }),
      );
    const before = (await t.stripe.events.list({ limit: 100 })).data.length;
    await expect(
      t.stripe.subscriptions.update(sub.id, {
        items: [{ id: sub.items.data[0]!.id, price: prices.pro.id }],
        proration_behavior: 'always_invoice',
        payment_behavior: 'error_if_incomplete',
      }),
    ).rejects.toMatchObject({ statusCode: 402, code: 'card_declined' });
    const after = await t.stripe.subscriptions.retrieve(sub.id);
    expect(after.items.data[0]!.price.id).toBe(prices.basic.id);
    expect((await t.stripe.events.list({ limit: 100 })).data.length).toBe(before);
    expect(await pendingItems(customer.id)).toEqual([]);
  });

  test('allow_incomplete: the update applies, the unpaid invoice makes it past_due', async () => {
    const { sub } = await basicSubscription(HALF_APRIL);
    const updated = await t.stripe.subscriptions.update(sub.id, {
      items: [{ id: sub.items.data[0]!.id, price: prices.pro.id }],
      proration_behavior: 'always_invoice',
      default_payment_method: 'pm_card_chargeCustomerFail',
    });
    expect(updated.status).toBe('past_due');
    expect(updated.items.data[0]!.price.id).toBe(prices.pro.id);
    expect(await t.stripe.invoices.retrieve(updated.latest_invoice as string)).toMatchObject({
      status: 'open',
    });
    const update = (await eventsAbout(t.stripe, [sub.id]))
      .filter((e) => e.type === 'customer.subscription.updated')
      .at(-1)!;
    expect(update.data.previous_attributes).toMatchObject({ status: 'active' });
    expect(update.data.previous_attributes).toHaveProperty('items');
  });

  test('pending_if_incomplete: the change waits in pending_update until its invoice is paid', async () => {
    const { sub } = await basicSubscription(HALF_APRIL);
    const updated = await t.stripe.subscriptions.update(sub.id, {
      items: [{ id: sub.items.data[0]!.id, price: prices.pro.id }],
      proration_behavior: 'always_invoice',
      payment_behavior: 'pending_if_incomplete',
      default_payment_method: 'pm_card_chargeCustomerFail',
    });
    expect(updated.status).toBe('active');
    expect(updated.items.data[0]!.price.id).toBe(prices.basic.id);
    expect(updated.pending_update).toMatchObject({ expires_at: HALF_APRIL + 23 * 3600 });
    expect(updated.pending_update!.subscription_items![0]!.price.id).toBe(prices.pro.id);
    await t.stripe.invoices.pay(updated.latest_invoice as string, { payment_method: 'pm_card_visa' });
    const applied = await t.stripe.subscriptions.retrieve(sub.id);
    expect(applied.pending_update).toBeNull();
    expect(applied.items.data[0]!.price.id).toBe(prices.pro.id);
    expect(types(await eventsAbout(t.stripe, [sub.id]))).toContain(
      'customer.subscription.pending_update_applied',
    );
  });
});

describe('invoices.createPreview', () => {
  test('shows the always_invoice result without changing anything, and is exactly what is charged', async () => {
    const { customer, sub } = await basicSubscription(APRIL_1_2027 + 7 * DAY + 4321);
    const itemId = sub.items.data[0]!.id;
    const eventsBefore = (await t.stripe.events.list({ limit: 100 })).data.length;
    const preview = await t.stripe.invoices.createPreview({
      customer: customer.id,
      subscription: sub.id,
      subscription_details: {
        items: [{ id: itemId, price: prices.pro.id, quantity: 2 }],
        proration_behavior: 'always_invoice',
      },
    });
    const prorationDate = preview.parent!.subscription_details!.subscription_proration_date!;
    expect(prorationDate).toBe(APRIL_1_2027 + 7 * DAY + 4321);
    expect(preview).toMatchObject({ billing_reason: 'subscription_update', status: 'draft', number: null });
    expect(preview.amount_due).toBe(
      prorated(2 * 7900, prorationDate, APRIL_1_2027, MAY_1) -
        prorated(2900, prorationDate, APRIL_1_2027, MAY_1),
    );
    // Nothing changed.
    expect(await t.stripe.subscriptions.retrieve(sub.id)).toEqual(
      expect.objectContaining({
        items: expect.objectContaining({
          data: [
            expect.objectContaining({ id: itemId, price: expect.objectContaining({ id: prices.basic.id }) }),
          ],
        }),
      }),
    );
    expect((await t.stripe.invoices.list({ customer: customer.id })).data).toHaveLength(1);
    expect(await pendingItems(customer.id)).toEqual([]);
    expect((await t.stripe.events.list({ limit: 100 })).data.length).toBe(eventsBefore);
    await expect(t.stripe.invoices.retrieve(preview.id)).rejects.toMatchObject({ statusCode: 404 });

    const updated = await t.stripe.subscriptions.update(sub.id, {
      items: [{ id: itemId, price: prices.pro.id, quantity: 2 }],
      proration_behavior: 'always_invoice',
      proration_date: prorationDate,
    });
    const charged = await t.stripe.invoices.retrieve(updated.latest_invoice as string);
    expect(charged.amount_paid).toBe(preview.amount_due);
    expect(charged.lines.data.map((l) => l.amount)).toEqual(preview.lines.data.map((l) => l.amount));
  });

  test('with create_prorations it previews the next renewal, which then charges the same', async () => {
    const coupon = await t.stripe.coupons.create({ percent_off: 10, duration: 'forever' });
    const { customer, clock } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
      discounts: [{ coupon: coupon.id }],
    });
    await advance(t.stripe, clock.id, APRIL_1_2027 + 20 * DAY + 999);
    const details = { items: [{ id: sub.items.data[0]!.id, price: prices.pro.id }] };
    const preview = await t.stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: details,
    });
    expect(preview.billing_reason).toBe('subscription_cycle');
    expect(preview.lines.data).toHaveLength(3);
    await t.stripe.subscriptions.update(sub.id, {
      ...details,
      proration_date: preview.parent!.subscription_details!.subscription_proration_date!,
    });
    await advance(t.stripe, clock.id, MAY_1 + 3600);
    const renewal = await t.stripe.invoices.retrieve(
      (await t.stripe.subscriptions.retrieve(sub.id)).latest_invoice as string,
    );
    expect(renewal.amount_paid).toBe(preview.amount_due);
    expect(renewal.total_discount_amounts!.map((d) => d.amount)).toEqual(
      preview.total_discount_amounts!.map((d) => d.amount),
    );
  });

  test('a new subscription for a customer, and nothing upcoming after cancel_at_period_end', async () => {
    const { customer } = await customerOnClock(t.stripe);
    const preview = await t.stripe.invoices.createPreview({
      customer: customer.id,
      subscription_details: { items: [{ price: prices.pro.id, quantity: 2 }] },
    });
    expect(preview).toMatchObject({ amount_due: 15_800, billing_reason: 'subscription_create' });
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.pro.id, quantity: 2 }],
    });
    expect((await t.stripe.invoices.retrieve(sub.latest_invoice as string)).amount_paid).toBe(
      preview.amount_due,
    );
    await t.stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    await expect(t.stripe.invoices.createPreview({ subscription: sub.id })).rejects.toMatchObject({
      statusCode: 404,
      code: 'invoice_upcoming_none',
    });
  });
});

describe('subscription items', () => {
  test('add, update, list and delete items (each a subscription update)', async () => {
    const { customer, sub } = await basicSubscription(HALF_APRIL);
    const addon = await t.stripe.prices.create({
      product_data: { name: 'Seats' },
      currency: 'usd',
      unit_amount: 1000,
      recurring: { interval: 'month' },
    });
    const item = await t.stripe.subscriptionItems.create({
      subscription: sub.id,
      price: addon.id,
      quantity: 2,
      proration_behavior: 'create_prorations',
    });
    expect(item).toMatchObject({ object: 'subscription_item', subscription: sub.id, quantity: 2 });
    expect((await pendingItems(customer.id)).map((i) => [i.amount, i.description])).toEqual([
      [1000, 'Remaining time on 2 × Seats after 16 Apr 2027'],
    ]);
    await expect(
      t.stripe.subscriptionItems.create({ subscription: sub.id, price: addon.id }),
    ).rejects.toMatchObject({ statusCode: 400 });
    const bumped = await t.stripe.subscriptionItems.update(item.id, {
      quantity: 5,
      proration_behavior: 'none',
    });
    expect(bumped.quantity).toBe(5);
    const list = await t.stripe.subscriptionItems.list({ subscription: sub.id });
    expect(list.data.map((i) => i.id).sort()).toEqual([sub.items.data[0]!.id, item.id].sort());
    expect(await t.stripe.subscriptionItems.del(item.id, { proration_behavior: 'none' })).toMatchObject({
      deleted: true,
    });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).items.data).toHaveLength(1);
    await expect(t.stripe.subscriptionItems.retrieve(item.id)).rejects.toMatchObject({ statusCode: 404 });
    await expect(t.stripe.subscriptionItems.del(sub.items.data[0]!.id)).rejects.toMatchObject({
      statusCode: 400,
    });
  });
});
