/**
 * Stripe's own CLI fixtures for Checkout and the customer portal, run against the emulator
 * (`stripe trigger <event> --api-base ...`). A fixture only fails on an unexpected HTTP
 * error, so each case then checks the named event and the state of its object.
 * Checkout fixtures use the internal `GET /v1/payment_pages/{cs}` and
 * `POST /v1/payment_pages/{cs}/confirm` (payment_method + expected_amount).
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, startTestEmulator, type TestEmulator } from './helpers.ts';
import { hasStripeCli, runStripeTriggers, type TriggerRun } from './stripeCli.ts';

type Check = (object: Record<string, unknown>, t: TestEmulator) => Promise<void> | void;

const triggers: Record<string, Check> = {
  'checkout.session.completed': async (o, t) => {
    expect(o).toMatchObject({
      object: 'checkout.session',
      mode: 'payment',
      status: 'complete',
      payment_status: 'paid',
      amount_total: 3000,
      customer_details: { email: 'stripe@example.com', name: 'Jenny Rosen' },
    });
    const pi = await t.stripe.paymentIntents.retrieve(o.payment_intent as string);
    expect(pi).toMatchObject({ status: 'succeeded', amount: 3000, currency: 'usd' });
  },
  'checkout.session.expired': (o) =>
    expect(o).toMatchObject({
      object: 'checkout.session',
      status: 'expired',
      url: null,
      payment_status: 'unpaid',
    }),
  'billing_portal.session.created': async (o, t) => {
    expect(o).toMatchObject({
      object: 'billing_portal.session',
      url: expect.stringContaining('/p/session/bps_'),
    });
    const customer = await t.stripe.customers.retrieve(o.customer as string);
    expect(customer).toMatchObject({ description: '(created by Stripe CLI)' });
  },
  'payment_intent.succeeded': (o) =>
    expect(o).toMatchObject({ status: 'succeeded', amount_received: o.amount }),
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

describe.skipIf(!hasStripeCli())('stripe trigger (checkout, portal) against the emulator', () => {
  test.each(Object.keys(triggers))('%s', async (name) => {
    const result = outputs.get(name)!;
    expect(result.output).toContain('Trigger succeeded');
    expect(result.ok).toBe(true);
    const events = await eventually(async () => {
      const list = await t.stripe.events.list({ type: name, limit: 100 });
      return list.data.length > 0 ? list.data : undefined;
    });
    const errors: unknown[] = [];
    for (const event of events as Stripe.Event[]) {
      try {
        await triggers[name]!(event.data.object as unknown as Record<string, unknown>, t);
        return;
      } catch (err) {
        errors.push(err);
      }
    }
    throw errors[0];
  });
});
