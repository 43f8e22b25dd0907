/**
 * Subscription schedules: a downgrade scheduled for the period end, release, cancel, and
 * schedules that start subscriptions (now or later).
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
  expectInOrder,
  period,
  types,
} from './billing-helpers.ts';
import { startTestEmulator, type TestEmulator } from './helpers.ts';

const DAY = 86_400;
const MAY_1 = APRIL_1_2027 + 30 * DAY;
const JUNE_1 = MAY_1 + 31 * DAY;

let t: TestEmulator;
let prices: Catalog;

beforeAll(async () => {
  t = await startTestEmulator();
  prices = await catalog(t.stripe);
});
afterAll(() => t.stop());

async function proSubscription() {
  const { customer, clock } = await customerOnClock(t.stripe);
  const sub = await t.stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: prices.pro.id }],
  });
  await advance(t.stripe, clock.id, APRIL_1_2027 + 10 * DAY);
  return { customer, clock, sub };
}

describe('subscription schedules', () => {
  test('a downgrade at the period end: phase 2 applies at the boundary, no proration, then released', async () => {
    const { customer, clock, sub } = await proSubscription();
    const schedule = await t.stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    expect(schedule).toMatchObject({
      object: 'subscription_schedule',
      status: 'active',
      subscription: sub.id,
      customer: customer.id,
      end_behavior: 'release',
      current_phase: { start_date: APRIL_1_2027, end_date: MAY_1 },
    });
    expect(schedule.phases).toHaveLength(1);
    expect(schedule.phases[0]!.items[0]).toMatchObject({ price: prices.pro.id, quantity: 1 });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).schedule).toBe(schedule.id);

    const updated = await t.stripe.subscriptionSchedules.update(schedule.id, {
      phases: [
        {
          items: [{ price: prices.pro.id, quantity: 1 }],
          start_date: schedule.phases[0]!.start_date,
          end_date: schedule.phases[0]!.end_date,
        },
        {
          items: [{ price: prices.basic.id, quantity: 1 }],
          duration: { interval: 'month', interval_count: 1 },
        },
      ],
      end_behavior: 'release',
    });
    expect(updated.phases.map((p) => [p.start_date, p.end_date])).toEqual([
      [APRIL_1_2027, MAY_1],
      [MAY_1, JUNE_1],
    ]);
    // Nothing changes now.
    expect((await t.stripe.subscriptions.retrieve(sub.id)).items.data[0]!.price.id).toBe(prices.pro.id);
    expect((await t.stripe.invoiceItems.list({ customer: customer.id, pending: true })).data).toEqual([]);
    const preview = await t.stripe.invoices.createPreview({ customer: customer.id, schedule: schedule.id });
    expect(preview.amount_due).toBe(2900);

    await advance(t.stripe, clock.id, MAY_1 + 3600);
    const downgraded = await t.stripe.subscriptions.retrieve(sub.id);
    expect(downgraded.items.data[0]!.price.id).toBe(prices.basic.id);
    expect(downgraded.items.data[0]!.id).not.toBe(sub.items.data[0]!.id);
    expect(period(downgraded)).toEqual({ start: MAY_1, end: JUNE_1 });
    const renewal = await t.stripe.invoices.retrieve(downgraded.latest_invoice as string);
    expect(renewal).toMatchObject({ status: 'paid', amount_paid: 2900 });
    expect(renewal.lines.data.every((l) => !l.parent?.subscription_item_details?.proration)).toBe(true);
    expect(await t.stripe.subscriptionSchedules.retrieve(schedule.id)).toMatchObject({
      status: 'active',
      current_phase: { start_date: MAY_1, end_date: JUNE_1 },
    });
    let events = await eventsAbout(t.stripe, [sub.id, schedule.id]);
    const boundary = events.find((e) => e.type === 'customer.subscription.updated' && e.created === MAY_1)!;
    expect(boundary.request).toBeNull();
    const before = (boundary.data.previous_attributes as { items: Stripe.ApiList<Stripe.SubscriptionItem> })
      .items;
    expect(before.data[0]!.price.id).toBe(prices.pro.id);
    expectInOrder(types(events), [
      'subscription_schedule.created',
      'subscription_schedule.updated',
      'subscription_schedule.updated',
      'customer.subscription.updated',
      'invoice.created',
    ]);

    // After the last phase the schedule completes and lets the subscription go on.
    await advance(t.stripe, clock.id, JUNE_1 + 3600);
    expect(await t.stripe.subscriptionSchedules.retrieve(schedule.id)).toMatchObject({
      status: 'completed',
      completed_at: JUNE_1,
    });
    const released = await t.stripe.subscriptions.retrieve(sub.id);
    expect(released).toMatchObject({ status: 'active', schedule: null });
    expect(released.items.data[0]!.price.id).toBe(prices.basic.id);
    events = await eventsAbout(t.stripe, [sub.id, schedule.id]);
    expect(types(events)).toContain('subscription_schedule.completed');
  });

  test('release leaves the subscription as it is', async () => {
    const { clock, sub } = await proSubscription();
    const schedule = await t.stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    await t.stripe.subscriptionSchedules.update(schedule.id, {
      phases: [
        { items: [{ price: prices.pro.id }], start_date: APRIL_1_2027, end_date: MAY_1 },
        { items: [{ price: prices.basic.id }], duration: { interval: 'month' } },
      ],
    });
    const released = await t.stripe.subscriptionSchedules.release(schedule.id);
    expect(released).toMatchObject({ status: 'released', released_subscription: sub.id, subscription: null });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).schedule).toBeNull();
    expect(types(await eventsAbout(t.stripe, [schedule.id]))).toContain('subscription_schedule.released');
    await advance(t.stripe, clock.id, MAY_1 + 3600);
    const after = await t.stripe.subscriptions.retrieve(sub.id);
    expect(after.items.data[0]!.price.id).toBe(prices.pro.id);
    expect((await t.stripe.invoices.retrieve(after.latest_invoice as string)).amount_paid).toBe(7900);
    await expect(t.stripe.subscriptionSchedules.release(schedule.id)).rejects.toMatchObject({
      statusCode: 400,
    });
  });

  test('cancel cancels the subscription too', async () => {
    const { sub } = await proSubscription();
    const schedule = await t.stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    await expect(t.stripe.subscriptionSchedules.create({ from_subscription: sub.id })).rejects.toMatchObject({
      statusCode: 400,
    });
    const canceled = await t.stripe.subscriptionSchedules.cancel(schedule.id, {
      invoice_now: false,
      prorate: false,
    });
    expect(canceled).toMatchObject({ status: 'canceled', canceled_at: APRIL_1_2027 + 10 * DAY });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('canceled');
    const events = types(await eventsAbout(t.stripe, [sub.id, schedule.id]));
    expect(events).toEqual(
      expect.arrayContaining(['customer.subscription.deleted', 'subscription_schedule.canceled']),
    );
  });

  test('a schedule with phases starts its subscription now, or later when its start comes', async () => {
    const { customer, clock } = await customerOnClock(t.stripe);
    const now = await t.stripe.subscriptionSchedules.create({
      customer: customer.id,
      start_date: 'now',
      end_behavior: 'cancel',
      phases: [
        {
          items: [{ price: prices.basic.id, quantity: 2 }],
          duration: { interval: 'month', interval_count: 2 },
        },
      ],
    });
    expect(now.status).toBe('active');
    const sub = await t.stripe.subscriptions.retrieve(now.subscription as string);
    expect(sub).toMatchObject({ status: 'active', schedule: now.id });
    expect(sub.items.data[0]).toMatchObject({ quantity: 2 });
    const created = (await eventsAbout(t.stripe, [sub.id])).find(
      (e) => e.type === 'customer.subscription.created',
    )!;
    expect(created.data.object).toMatchObject({ schedule: now.id });

    const later = await t.stripe.subscriptionSchedules.create({
      customer: customer.id,
      start_date: APRIL_1_2027 + 5 * DAY,
      phases: [{ items: [{ price: prices.pro.id }], duration: { interval: 'month' } }],
    });
    expect(later).toMatchObject({ status: 'not_started', subscription: null, current_phase: null });
    expect(
      (await t.stripe.subscriptionSchedules.list({ customer: customer.id, scheduled: true })).data.map(
        (s) => s.id,
      ),
    ).toEqual([later.id]);
    await advance(t.stripe, clock.id, APRIL_1_2027 + 5 * DAY + 60);
    const started = await t.stripe.subscriptionSchedules.retrieve(later.id);
    expect(started.status).toBe('active');
    const laterSub = await t.stripe.subscriptions.retrieve(started.subscription as string);
    expect(laterSub).toMatchObject({ status: 'active', start_date: APRIL_1_2027 + 5 * DAY });

    // The first schedule ends after two months and cancels its subscription (end_behavior cancel).
    await advance(t.stripe, clock.id, MAY_1);
    await advance(t.stripe, clock.id, JUNE_1 + 60);
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('canceled');
    expect((await t.stripe.subscriptionSchedules.retrieve(now.id)).status).toBe('completed');
  });
});
