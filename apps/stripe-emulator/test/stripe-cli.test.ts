/**
 * Outside check with Stripe's own CLI: its trigger fixtures are real request chains with real
 * parameter shapes. A fixture only fails on an unexpected HTTP error, so each case then
 * checks that the named event was emitted with the right object state.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, startTestEmulator, type TestEmulator } from './helpers.ts';
import { hasStripeCli, runStripeTriggers, type TriggerRun } from './stripeCli.ts';

type Check = (object: Record<string, unknown>, event: Stripe.Event) => void;

const triggers: Record<string, Check> = {
  'customer.created': (o) => expect(o.object).toBe('customer'),
  'customer.updated': (o, e) => {
    expect(o.metadata).toMatchObject({ foo: 'bar' });
    expect(e.data.previous_attributes).toEqual({ metadata: { foo: null } });
  },
  'payment_intent.succeeded': (o) =>
    expect(o).toMatchObject({ status: 'succeeded', amount_received: o.amount }),
  'payment_intent.payment_failed': (o) =>
    expect(o).toMatchObject({
      status: 'requires_payment_method',
      last_payment_error: { code: 'card_declined' },
    }),
  'payment_intent.requires_action': (o) =>
    expect(o).toMatchObject({ status: 'requires_action', next_action: { type: 'use_stripe_sdk' } }),
  'payment_intent.canceled': (o) =>
    expect(o).toMatchObject({ status: 'canceled', cancellation_reason: 'requested_by_customer' }),
  'setup_intent.succeeded': (o) => expect(o).toMatchObject({ status: 'succeeded' }),
  'setup_intent.setup_failed': (o) =>
    expect(o).toMatchObject({
      status: 'requires_payment_method',
      last_setup_error: { code: 'card_declined' },
    }),
  'payment_method.attached': (o) => expect(o.customer).toMatch(/^cus_/),
  'charge.refunded': (o) => expect(o).toMatchObject({ refunded: true, amount_refunded: o.amount }),
  'price.created': (o) => expect(o).toMatchObject({ unit_amount: 1500, recurring: { interval: 'month' } }),
  'product.created': (o) => expect(o).toMatchObject({ name: 'myproduct', active: true }),
  'coupon.created': (o) => expect(o).toMatchObject({ percent_off: 20, valid: true }),
  'promotion_code.created': (o) =>
    expect(o).toMatchObject({ active: true, promotion: { type: 'coupon', coupon: expect.any(String) } }),
  'test_helpers.test_clock.ready': (o) =>
    expect(o).toMatchObject({ status: 'ready', frozen_time: expect.any(Number) }),
};

let t: TestEmulator;
let cli: TriggerRun;
let outputs: TriggerRun['outputs'];

beforeAll(async () => {
  t = await startTestEmulator();
  cli = await runStripeTriggers(t.emulator.url, Object.keys(triggers));
  outputs = cli.outputs;
}, 120_000);

afterAll(async () => {
  await t.stop();
  cli?.cleanup();
});

describe.skipIf(!hasStripeCli())('stripe trigger against the emulator', () => {
  test.each(Object.keys(triggers))('%s', async (name) => {
    const result = outputs.get(name)!;
    expect(result.output).toContain('Trigger succeeded');
    expect(result.ok).toBe(true);
    // Test clock advances finish asynchronously.
    const events = await eventually(async () => {
      const list = await t.stripe.events.list({ type: name, limit: 100 });
      return list.data.length > 0 ? list.data : undefined;
    });
    const errors: unknown[] = [];
    const passing = events.filter((event) => {
      try {
        triggers[name]!(event.data.object as unknown as Record<string, unknown>, event);
        return true;
      } catch (err) {
        errors.push(err);
        return false;
      }
    });
    if (passing.length === 0) throw errors[0];
  });
});
