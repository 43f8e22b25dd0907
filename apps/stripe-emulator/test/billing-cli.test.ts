/**
 * Outside check of the billing engine with Stripe's own CLI: its trigger fixtures for
 * subscriptions and invoices are real request chains. Each must run without an HTTP error,
 * and the named event must then exist with the right object state.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, startTestEmulator, type TestEmulator } from './helpers.ts';
import { hasStripeCli, runStripeTriggers, type TriggerRun } from './stripeCli.ts';

type O = Record<string, unknown> & { lines?: { data: Record<string, unknown>[] } };
type Check = (object: O, event: Stripe.Event) => void;

const FIXTURE_AMOUNT = 2000; // the CLI's invoice fixtures bill one 20.00 USD invoice item

const triggers: Record<string, Check> = {
  'customer.subscription.created': (o) => {
    expect(o).toMatchObject({
      object: 'subscription',
      status: 'active',
      latest_invoice: expect.stringMatching(/^in_/),
    });
    expect((o.items as Stripe.ApiList<Stripe.SubscriptionItem>).data[0]).toMatchObject({
      price: { unit_amount: 1500, recurring: { interval: 'month' } },
      current_period_start: expect.any(Number),
    });
  },
  'customer.subscription.updated': (o, e) => {
    expect(o).toMatchObject({ status: 'active', metadata: { foo: 'bar' } });
    expect(e.data.previous_attributes).toEqual({ metadata: { foo: null } });
  },
  'customer.subscription.deleted': (o) =>
    expect(o).toMatchObject({
      status: 'canceled',
      canceled_at: expect.any(Number),
      ended_at: expect.any(Number),
      cancellation_details: { reason: 'cancellation_requested' },
    }),
  'customer.subscription.trial_will_end': (o, e) => {
    expect(o).toMatchObject({ status: 'trialing', trial_end: expect.any(Number) });
    // A one-day trial: announced at once.
    expect((o.trial_end as number) - e.created).toBeLessThanOrEqual(86_400);
  },
  'customer.subscription.paused': (o) =>
    expect(o).toMatchObject({
      status: 'paused',
      status_details: { paused: { subscription: { type: 'trial_end_without_payment_method' } } },
    }),
  'invoice.created': (o) =>
    expect(o).toMatchObject({ status: 'draft', amount_due: FIXTURE_AMOUNT, number: null }),
  'invoice.finalized': (o) =>
    expect(o).toMatchObject({
      status: 'open',
      number: expect.stringMatching(/^[A-Z0-9]+-\d{4}$/),
      amount_due: FIXTURE_AMOUNT,
    }),
  'invoice.paid': (o) =>
    expect(o).toMatchObject({ status: 'paid', amount_paid: FIXTURE_AMOUNT, amount_remaining: 0 }),
  'invoice.payment_succeeded': (o) =>
    expect(o).toMatchObject({ status: 'paid', amount_paid: FIXTURE_AMOUNT }),
  'invoice.payment_failed': (o) =>
    expect(o).toMatchObject({ status: 'open', attempted: true, attempt_count: 1, amount_paid: 0 }),
  'invoice.payment_action_required': (o) =>
    expect(o).toMatchObject({ status: 'open', attempted: true, amount_remaining: FIXTURE_AMOUNT }),
  'invoice.voided': (o) =>
    expect(o).toMatchObject({ status: 'void', status_transitions: { voided_at: expect.any(Number) } }),
  'invoice.marked_uncollectible': (o) => expect(o).toMatchObject({ status: 'uncollectible' }),
  'invoice.sent': (o) =>
    expect(o).toMatchObject({
      status: 'open',
      collection_method: 'send_invoice',
      due_date: expect.any(Number),
    }),
  'invoice.updated': (o, e) => {
    expect(o).toMatchObject({ metadata: { foo: 'bar' } });
    expect(e.data.previous_attributes).toEqual({ metadata: { foo: null } });
  },
  'invoice.deleted': (o) => expect(o).toMatchObject({ object: 'invoice', status: 'draft' }),
  'invoiceitem.created': (o) => expect(o).toMatchObject({ object: 'invoiceitem', amount: FIXTURE_AMOUNT }),
  'invoiceitem.deleted': (o) => expect(o).toMatchObject({ object: 'invoiceitem' }),
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

describe.skipIf(!hasStripeCli())('stripe trigger (billing) against the emulator', () => {
  test.each(Object.keys(triggers))('%s', async (name) => {
    const result = outputs.get(name)!;
    expect(result.output).toContain('Trigger succeeded');
    expect(result.ok).toBe(true);
    const events = await eventually(async () => {
      const list = await t.stripe.events.list({ type: name, limit: 100 });
      return list.data.length > 0 ? list.data : undefined;
    });
    const errors: unknown[] = [];
    const passing = events.filter((event) => {
      try {
        triggers[name]!(event.data.object as unknown as O, event);
        return true;
      } catch (err) {
        errors.push(err);
        return false;
      }
    });
    if (passing.length === 0) throw errors[0];
  });

  test('no job failed while the fixtures ran', () => {
    expect(t.emulator.control.jobFailures()).toEqual([]);
  });
});
