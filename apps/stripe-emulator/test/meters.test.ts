/**
 * Billing meters, meter events (identifier de-dup, timestamps, adjustments) and event
 * summaries per hour / day, through the official SDK.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { meteredQuantity, meterUsage } from '../src/resources/meters/usage.ts';
import { eventsOfType, startTestEmulator, type TestEmulator } from './helpers.ts';

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.stop());

let n = 0;
const uniqueName = (base: string) => `${base}_${++n}_${Date.now()}`;

async function meter(
  formula: 'sum' | 'count' | 'last',
  extra: Partial<Stripe.Billing.MeterCreateParams> = {},
) {
  return t.stripe.billing.meters.create({
    display_name: `API calls (${formula})`,
    event_name: uniqueName('api_calls'),
    default_aggregation: { formula },
    ...extra,
  });
}

async function errorOf(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (err) {
    return err as Stripe.errors.StripeError;
  }
  throw new Error('expected the call to fail');
}

/** A UTC day boundary a few days back, so every test timestamp is within Stripe's 35 days. */
async function dayStart(daysBack: number): Promise<number> {
  const now = t.emulator.control.now();
  return Math.floor(now / 86_400) * 86_400 - daysBack * 86_400;
}

describe('meters', () => {
  test('create, retrieve, update, list, deactivate and reactivate, with events', async () => {
    const created = await meter('sum');
    expect(created).toMatchObject({
      object: 'billing.meter',
      status: 'active',
      customer_mapping: { event_payload_key: 'stripe_customer_id', type: 'by_id' },
      value_settings: { event_payload_key: 'value' },
      default_aggregation: { formula: 'sum' },
      event_time_window: null,
      status_transitions: { deactivated_at: null },
    });
    expect(created.id).toMatch(/^mtr_/);
    expect(await t.stripe.billing.meters.retrieve(created.id)).toEqual(created);

    const renamed = await t.stripe.billing.meters.update(created.id, { display_name: 'Calls' });
    expect(renamed.display_name).toBe('Calls');
    const updated = (await eventsOfType(t.stripe, 'billing.meter.updated')).find(
      (e) => (e.data.object as Stripe.Billing.Meter).id === created.id,
    );
    expect(updated?.data.previous_attributes).toMatchObject({ display_name: 'API calls (sum)' });

    const off = await t.stripe.billing.meters.deactivate(created.id);
    expect(off.status).toBe('inactive');
    expect(off.status_transitions.deactivated_at).toEqual(expect.any(Number));
    const inactive = await t.stripe.billing.meters.list({ status: 'inactive' });
    expect(inactive.data.map((m) => m.id)).toContain(created.id);
    const active = await t.stripe.billing.meters.list({ status: 'active' });
    expect(active.data.map((m) => m.id)).not.toContain(created.id);
    expect((await errorOf(t.stripe.billing.meters.deactivate(created.id))).statusCode).toBe(400);

    const on = await t.stripe.billing.meters.reactivate(created.id);
    expect(on).toMatchObject({ status: 'active', status_transitions: { deactivated_at: null } });
    const types = new Set((await t.stripe.events.list({ limit: 100 })).data.map((e) => e.type));
    for (const type of ['billing.meter.created', 'billing.meter.deactivated', 'billing.meter.reactivated']) {
      expect(types).toContain(type);
    }
  });

  test('event names are unique and unknown meters are 404', async () => {
    const first = await meter('sum');
    const err = await errorOf(
      t.stripe.billing.meters.create({
        display_name: 'again',
        event_name: first.event_name,
        default_aggregation: { formula: 'sum' },
      }),
    );
    expect(err).toMatchObject({ statusCode: 400, param: 'event_name' });
    const missing = await errorOf(t.stripe.billing.meters.retrieve('mtr_nope'));
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });
});

describe('meter events and summaries', () => {
  test('sum per hour, per day and over the whole range', async () => {
    const m = await meter('sum');
    const customer = await t.stripe.customers.create();
    const other = await t.stripe.customers.create();
    const day = await dayStart(3);
    const send = (timestamp: number, value: number, who = customer.id) =>
      t.stripe.billing.meterEvents.create({
        event_name: m.event_name,
        timestamp,
        payload: { stripe_customer_id: who, value: String(value) },
      });
    await send(day + 60, 5); // day 1, hour 0
    await send(day + 3599, 7); // day 1, hour 0 (last second)
    await send(day + 3600, 11); // day 1, hour 1
    await send(day + 86_400 + 10, 13); // day 2, hour 0
    await send(day + 120, 1000, other.id); // someone else

    const byHour = await t.stripe.billing.meters.listEventSummaries(m.id, {
      customer: customer.id,
      start_time: day,
      end_time: day + 2 * 86_400,
      value_grouping_window: 'hour',
    });
    expect(byHour.data.map((s) => [s.start_time - day, s.end_time - day, s.aggregated_value])).toEqual([
      [86_400, 90_000, 13],
      [3600, 7200, 11],
      [0, 3600, 12],
    ]);
    expect(byHour.data[0]).toMatchObject({
      object: 'billing.meter_event_summary',
      meter: m.id,
      livemode: false,
    });

    const byDay = await t.stripe.billing.meters.listEventSummaries(m.id, {
      customer: customer.id,
      start_time: day,
      end_time: day + 2 * 86_400,
      value_grouping_window: 'day',
    });
    expect(byDay.data.map((s) => [s.start_time - day, s.aggregated_value])).toEqual([
      [86_400, 13],
      [0, 23],
    ]);

    const whole = await t.stripe.billing.meters.listEventSummaries(m.id, {
      customer: customer.id,
      start_time: day,
      end_time: day + 86_400,
    });
    expect(whole.data).toHaveLength(1);
    expect(whole.data[0]).toMatchObject({ start_time: day, end_time: day + 86_400, aggregated_value: 23 });

    // Pagination over summaries with stable ids.
    const page1 = await t.stripe.billing.meters.listEventSummaries(m.id, {
      customer: customer.id,
      start_time: day,
      end_time: day + 2 * 86_400,
      value_grouping_window: 'hour',
      limit: 2,
    });
    expect(page1.has_more).toBe(true);
    const page2 = await t.stripe.billing.meters.listEventSummaries(m.id, {
      customer: customer.id,
      start_time: day,
      end_time: day + 2 * 86_400,
      value_grouping_window: 'hour',
      limit: 2,
      starting_after: page1.data[1]!.id,
    });
    expect(page2.data.map((s) => s.aggregated_value)).toEqual([12]);

    // The function the billing engine calls agrees with the API.
    expect(meterUsage(t.emulator.ctx, m.id, customer.id, day, day + 2 * 86_400)).toBe(36);
    expect(meterUsage(t.emulator.ctx, m.id, other.id, day, day + 86_400)).toBe(1000);
  });

  test('count and last formulas, custom payload keys', async () => {
    const counter = await meter('count');
    const last = await meter('last', {
      customer_mapping: { event_payload_key: 'account', type: 'by_id' },
      value_settings: { event_payload_key: 'seats' },
    });
    const customer = await t.stripe.customers.create();
    const day = await dayStart(2);
    for (const [offset, value] of [
      [100, 3],
      [300, 9],
      [200, 4],
    ] as const) {
      await t.stripe.billing.meterEvents.create({
        event_name: counter.event_name,
        timestamp: day + offset,
        payload: { stripe_customer_id: customer.id, value: String(value) },
      });
      await t.stripe.billing.meterEvents.create({
        event_name: last.event_name,
        timestamp: day + offset,
        payload: { account: customer.id, seats: String(value) },
      });
    }
    const range = { customer: customer.id, start_time: day, end_time: day + 3600 };
    expect(
      (await t.stripe.billing.meters.listEventSummaries(counter.id, range)).data[0]?.aggregated_value,
    ).toBe(3);
    // "last" is the latest by event timestamp, not by arrival.
    expect((await t.stripe.billing.meters.listEventSummaries(last.id, range)).data[0]?.aggregated_value).toBe(
      9,
    );
  });

  test('the same identifier within 24 h is rejected and counted once; accepted again later', async () => {
    const m = await meter('sum');
    const customer = await t.stripe.customers.create();
    const identifier = `usage-${Date.now()}`;
    const event = await t.stripe.billing.meterEvents.create({
      event_name: m.event_name,
      identifier,
      payload: { stripe_customer_id: customer.id, value: '4' },
    });
    expect(event).toMatchObject({
      object: 'billing.meter_event',
      identifier,
      event_name: m.event_name,
      payload: { stripe_customer_id: customer.id, value: '4' },
      livemode: false,
    });
    expect(event).not.toHaveProperty('id');
    expect(event.timestamp).toBe(event.created);

    const err = await errorOf(
      t.stripe.billing.meterEvents.create({
        event_name: m.event_name,
        identifier,
        payload: { stripe_customer_id: customer.id, value: '4' },
      }),
    );
    expect(err).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError' });
    expect(err.message).toContain(identifier);
    expect(err.headers?.['stripe-should-retry']).toBe('false');

    const start = Math.floor(event.timestamp / 60) * 60;
    const usage = () => meterUsage(t.emulator.ctx, m.id, customer.id, start, start + 30 * 86_400);
    expect(usage()).toBe(4);

    // Identifiers are unique within a rolling 24 h.
    t.emulator.control.advanceTime({ seconds: 25 * 3600 });
    await t.stripe.billing.meterEvents.create({
      event_name: m.event_name,
      identifier,
      payload: { stripe_customer_id: customer.id, value: '6' },
    });
    expect(usage()).toBe(10);
  });

  test('timestamps must be within the past 35 days and at most 5 minutes ahead', async () => {
    const m = await meter('sum');
    const customer = await t.stripe.customers.create();
    const now = t.emulator.control.now();
    for (const timestamp of [now - 36 * 86_400, now + 3600]) {
      const err = await errorOf(
        t.stripe.billing.meterEvents.create({
          event_name: m.event_name,
          timestamp,
          payload: { stripe_customer_id: customer.id, value: '1' },
        }),
      );
      expect(err).toMatchObject({ statusCode: 400, param: 'timestamp' });
    }
  });

  test('events a meter cannot take are accepted but not counted; adjustments cancel', async () => {
    const m = await meter('sum');
    const customer = await t.stripe.customers.create();
    const base = { event_name: m.event_name };
    const send = (payload: Record<string, string>, identifier?: string) =>
      t.stripe.billing.meterEvents.create({ ...base, payload, identifier });
    await send({ stripe_customer_id: customer.id, value: '2' });
    await send({ stripe_customer_id: customer.id, value: '2.5' }); // not a whole number
    await send({ stripe_customer_id: 'cus_unknown', value: '100' });
    await send({ value: '100' });
    await send({ stripe_customer_id: customer.id, value: '30' }, 'to-cancel');
    await t.stripe.billing.meters.deactivate(m.id);
    await send({ stripe_customer_id: customer.id, value: '500' });
    await t.stripe.billing.meters.reactivate(m.id);

    const now = t.emulator.control.now();
    const start = Math.floor(now / 60) * 60 - 3600;
    const total = async () =>
      (
        await t.stripe.billing.meters.listEventSummaries(m.id, {
          customer: customer.id,
          start_time: start,
          end_time: start + 7200,
        })
      ).data[0]?.aggregated_value;
    expect(await total()).toBe(32);

    const adjustment = await t.stripe.billing.meterEventAdjustments.create({
      event_name: m.event_name,
      type: 'cancel',
      cancel: { identifier: 'to-cancel' },
    });
    expect(adjustment).toMatchObject({
      object: 'billing.meter_event_adjustment',
      type: 'cancel',
      cancel: { identifier: 'to-cancel' },
    });
    expect(await total()).toBe(2);
  });

  test('summaries validate customer, range and alignment', async () => {
    const m = await meter('sum');
    const customer = await t.stripe.customers.create();
    const day = await dayStart(1);
    const list = (params: Partial<Stripe.Billing.MeterListEventSummariesParams>) =>
      errorOf(
        t.stripe.billing.meters.listEventSummaries(m.id, {
          customer: customer.id,
          start_time: day,
          end_time: day + 86_400,
          ...params,
        }),
      );
    expect(await list({ customer: 'cus_missing' })).toMatchObject({ statusCode: 404, param: 'customer' });
    expect(await list({ start_time: day + 30 })).toMatchObject({ statusCode: 400, param: 'start_time' });
    expect(await list({ end_time: day })).toMatchObject({ statusCode: 400, param: 'start_time' });
    expect(await list({ start_time: day + 60, value_grouping_window: 'hour' })).toMatchObject({
      statusCode: 400,
      param: 'start_time',
    });
    expect(await list({ end_time: day + 3600, value_grouping_window: 'day' })).toMatchObject({
      statusCode: 400,
      param: 'end_time',
    });
  });

  test("events without a timestamp land on the customer's test clock", async () => {
    const m = await meter('sum');
    const frozen = 1_800_000_000 - (1_800_000_000 % 86_400);
    const clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: frozen + 7200 });
    const customer = await t.stripe.customers.create({ test_clock: clock.id });
    const event = await t.stripe.billing.meterEvents.create({
      event_name: m.event_name,
      payload: { stripe_customer_id: customer.id, value: '8' },
    });
    expect(event.timestamp).toBe(frozen + 7200);
    const byHour = await t.stripe.billing.meters.listEventSummaries(m.id, {
      customer: customer.id,
      start_time: frozen,
      end_time: frozen + 86_400,
      value_grouping_window: 'hour',
    });
    expect(byHour.data.map((s) => [s.start_time - frozen, s.aggregated_value])).toEqual([[7200, 8]]);
    // What the billing engine bills for a metered price on that meter.
    const price = { recurring: { meter: m.id } };
    expect(meteredQuantity(t.emulator.ctx, price, customer.id, frozen, frozen + 86_400)).toBe(8);
    expect(meteredQuantity(t.emulator.ctx, { recurring: null }, customer.id, frozen, frozen + 86_400)).toBe(
      0,
    );
  });
});
