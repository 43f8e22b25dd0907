import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EmulatorModule } from '../src/core/module.ts';
import { paymentIntentChanged } from '../src/resources/payments/hooks.ts';
import { confirmPaymentIntent, createPaymentIntent } from '../src/resources/payments/payment-intent-ops.ts';
import { startTestEmulator, type TestEmulator } from './helpers.ts';

let t: TestEmulator;
// Stands in for the future invoices module: it owns PaymentIntents and listens for changes.
const heard: { id: string; status: string; previous: string | null; cause: string; owner?: string }[] = [];
const fakeInvoices: EmulatorModule = {
  name: 'fake-invoices',
  register(app) {
    app.on(paymentIntentChanged, (_ctx, { paymentIntent, previousStatus, owner, cause }) => {
      if (owner?.object === 'invoice') {
        heard.push({
          id: paymentIntent.id,
          status: paymentIntent.status,
          previous: previousStatus,
          cause,
          owner: owner.id,
        });
      }
    });
  },
};
beforeAll(async () => {
  t = await startTestEmulator({ extraModules: [fakeInvoices] });
});
afterAll(() => t.stop());

async function typesFor(id: string): Promise<string[]> {
  const events = await t.stripe.events.list({ limit: 100 });
  return events.data
    .filter((e) => {
      const o = e.data.object as { id: string; payment_intent?: string };
      return o.id === id || o.payment_intent === id;
    })
    .map((e) => e.type)
    .reverse();
}

function pay(payment_method: string, extra: Partial<Stripe.PaymentIntentCreateParams> = {}) {
  return t.stripe.paymentIntents.create({
    amount: 2000,
    currency: 'usd',
    payment_method,
    confirm: true,
    ...extra,
  });
}

describe('payment intents', () => {
  test('a good card succeeds: charge, events, client_secret', async () => {
    const customer = (await t.stripe.customers.create({})).id;
    const pi = await pay('pm_card_visa', { customer, metadata: { order: 'o1' }, description: 'Order 1' });
    expect(pi).toMatchObject({
      object: 'payment_intent',
      status: 'succeeded',
      amount: 2000,
      amount_received: 2000,
      capture_method: 'automatic_async',
      customer,
      last_payment_error: null,
      metadata: { order: 'o1' },
    });
    expect(pi.client_secret).toMatch(new RegExp(`^${pi.id}_secret_`));
    const charge = await t.stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({
      status: 'succeeded',
      paid: true,
      captured: true,
      amount_captured: 2000,
      refunded: false,
      amount_refunded: 0,
      payment_intent: pi.id,
      failure_code: null,
      outcome: { type: 'authorized' },
      payment_method_details: { type: 'card', card: { brand: 'visa', last4: '4242' } },
    });
    expect(await typesFor(pi.id)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
    ]);
  });

  test.each([
    ['pm_card_chargeDeclined', 'card_declined', 'generic_decline'],
    ['pm_card_chargeCustomerFail', 'card_declined', 'generic_decline'],
    ['pm_card_radarBlock', 'card_declined', 'fraudulent'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'card_declined', 'insufficient_funds'],
  ])('%s fails with 402 %s/%s, a failed charge and payment_failed', async (card, code, declineCode) => {
    const err = await pay(card).catch((e) => e);
    expect(err).toMatchObject({ type: 'StripeCardError', statusCode: 402, code, decline_code: declineCode });
    const pi = err.raw.payment_intent as Stripe.PaymentIntent;
    expect(pi.status).toBe('requires_payment_method');
    expect(pi.last_payment_error).toMatchObject({ type: 'card_error', code, decline_code: declineCode });
    const charge = await t.stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({ status: 'failed', paid: false, failure_code: code });
    if (card === 'pm_card_radarBlock') expect(charge.outcome?.type).toBe('blocked');
    expect(await typesFor(pi.id)).toEqual([
      'payment_intent.created',
      'charge.failed',
      'payment_intent.payment_failed',
    ]);
  });

  test('chargeCustomerFail attaches fine, then every charge fails', async () => {
    const customer = (await t.stripe.customers.create({})).id;
    const pm = await t.stripe.paymentMethods.attach('pm_card_chargeCustomerFail', { customer });
    await expect(pay(pm.id, { customer, off_session: true })).rejects.toMatchObject({
      statusCode: 402,
      code: 'card_declined',
    });
  });

  test('3-D Secure: requires_action, then the auth helper completes it', async () => {
    const pi = await pay('pm_card_authenticationRequired');
    expect(pi.status).toBe('requires_action');
    expect(pi.next_action).toMatchObject({ type: 'use_stripe_sdk' });
    expect(pi.latest_charge).toBeNull();
    const res = await fetch(`${t.emulator.url}/_emulator/authenticate/${pi.id}`, {
      method: 'POST',
      body: JSON.stringify({ outcome: 'succeed' }),
    });
    expect((await res.json()).status).toBe('succeeded');
    const after = await t.stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] });
    expect(after.status).toBe('succeeded');
    expect((after.latest_charge as Stripe.Charge).payment_method_details?.card?.three_d_secure).toMatchObject(
      {
        result: 'authenticated',
      },
    );
    expect(await typesFor(pi.id)).toEqual([
      'payment_intent.created',
      'payment_intent.requires_action',
      'charge.succeeded',
      'payment_intent.succeeded',
    ]);
  });

  test('3-D Secure failed: requires_payment_method with payment_intent_authentication_failure', async () => {
    const pi = await pay('pm_card_threeDSecure2Required');
    expect(pi.status).toBe('requires_action');
    const after = t.emulator.control.authenticate(pi.id, 'fail') as Stripe.PaymentIntent;
    expect(after.status).toBe('requires_payment_method');
    expect(after.last_payment_error?.code).toBe('payment_intent_authentication_failure');
    expect(await typesFor(pi.id)).toContain('payment_intent.payment_failed');
    // A new attempt with another card works.
    const retried = await t.stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    expect(retried.status).toBe('succeeded');
  });

  test('authenticationRequiredChargeDeclinedInsufficientFunds: authenticates, then declines', async () => {
    const pi = await pay('pm_card_authenticationRequiredChargeDeclinedInsufficientFunds');
    expect(pi.status).toBe('requires_action');
    const after = t.emulator.control.authenticate(pi.id, 'succeed') as Stripe.PaymentIntent;
    expect(after.status).toBe('requires_payment_method');
    expect(after.last_payment_error).toMatchObject({
      code: 'card_declined',
      decline_code: 'insufficient_funds',
    });
  });

  test('off-session with an auth-required card fails with authentication_required', async () => {
    const customer = (await t.stripe.customers.create({})).id;
    const pm = await t.stripe.paymentMethods.attach('pm_card_authenticationRequired', { customer });
    const err = await pay(pm.id, { customer, off_session: true }).catch((e) => e);
    expect(err).toMatchObject({ statusCode: 402, code: 'authentication_required' });
  });

  test('authenticationRequiredOnSetup: off-session payments succeed once set up off-session', async () => {
    const customer = (await t.stripe.customers.create({})).id;
    const fresh = await t.stripe.paymentMethods.attach('pm_card_authenticationRequiredOnSetup', { customer });
    await expect(pay(fresh.id, { customer, off_session: true })).rejects.toMatchObject({
      code: 'authentication_required',
    });
    const si = await t.stripe.setupIntents.create({
      customer,
      payment_method: 'pm_card_authenticationRequiredOnSetup',
      confirm: true,
      usage: 'off_session',
    });
    t.emulator.control.authenticate(si.id, 'succeed');
    const pmId = (await t.stripe.setupIntents.retrieve(si.id)).payment_method as string;
    const offSession = await pay(pmId, { customer, off_session: true });
    expect(offSession.status).toBe('succeeded');
    const onSession = await pay(pmId, { customer });
    expect(onSession.status).toBe('requires_action');
  });

  test('manual capture: requires_capture, partial capture, amount_capturable_updated', async () => {
    const pi = await pay('pm_card_visa', { capture_method: 'manual' });
    expect(pi).toMatchObject({ status: 'requires_capture', amount_capturable: 2000, amount_received: 0 });
    await expect(t.stripe.paymentIntents.capture(pi.id, { amount_to_capture: 2500 })).rejects.toMatchObject({
      statusCode: 400,
    });
    const captured = await t.stripe.paymentIntents.capture(pi.id, { amount_to_capture: 1500 });
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 1500, amount_capturable: 0 });
    expect(await t.stripe.charges.retrieve(captured.latest_charge as string)).toMatchObject({
      captured: true,
      amount_captured: 1500,
    });
    expect(await typesFor(pi.id)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.amount_capturable_updated',
      'charge.captured',
      'payment_intent.succeeded',
    ]);
    await expect(t.stripe.paymentIntents.capture(pi.id)).rejects.toMatchObject({
      code: 'payment_intent_unexpected_state',
    });
  });

  test('cancel from requires_payment_method and refuses after success', async () => {
    const pi = await t.stripe.paymentIntents.create({ amount: 700, currency: 'eur' });
    expect(pi.status).toBe('requires_payment_method');
    const canceled = await t.stripe.paymentIntents.cancel(pi.id, {
      cancellation_reason: 'requested_by_customer',
    });
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'requested_by_customer' });
    expect(canceled.canceled_at).toBeGreaterThan(0);
    expect(await typesFor(pi.id)).toEqual(['payment_intent.created', 'payment_intent.canceled']);
    const done = await pay('pm_card_visa');
    await expect(t.stripe.paymentIntents.cancel(done.id)).rejects.toMatchObject({
      code: 'payment_intent_unexpected_state',
    });
  });

  test('client-side confirm with a publishable key and the client_secret', async () => {
    const pi = await t.stripe.paymentIntents.create({ amount: 1200, currency: 'usd' });
    const pk = t.client('pk_test_123');
    await expect(pk.paymentIntents.retrieve(pi.id)).rejects.toMatchObject({ param: 'client_secret' });
    const seen = await pk.paymentIntents.retrieve(pi.id, { client_secret: pi.client_secret! } as never);
    expect(seen.id).toBe(pi.id);
    const confirmed = await pk.paymentIntents.confirm(pi.id, {
      payment_method: 'pm_card_visa',
      client_secret: pi.client_secret!,
    } as never);
    expect(confirmed.status).toBe('succeeded');
    await expect(pk.paymentIntents.create({ amount: 100, currency: 'usd' })).rejects.toMatchObject({
      statusCode: 401,
    });
  });

  test('setup_future_usage saves the card on the customer', async () => {
    const customer = (await t.stripe.customers.create({})).id;
    const pi = await pay('pm_card_visa', { customer, setup_future_usage: 'off_session' });
    expect(pi.status).toBe('succeeded');
    const saved = await t.stripe.customers.listPaymentMethods(customer);
    expect(saved.data.map((x) => x.id)).toEqual([pi.payment_method]);
  });

  test('validation: amount minimum, missing payment method, unknown customer', async () => {
    await expect(t.stripe.paymentIntents.create({ amount: 10, currency: 'usd' })).rejects.toMatchObject({
      code: 'amount_too_small',
      param: 'amount',
    });
    const pi = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    await expect(t.stripe.paymentIntents.confirm(pi.id)).rejects.toMatchObject({
      code: 'payment_intent_unexpected_state',
    });
    await expect(
      t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', customer: 'cus_nope' }),
    ).rejects.toMatchObject({ statusCode: 404, param: 'customer' });
  });

  test('update, list and search', async () => {
    const customer = (await t.stripe.customers.create({})).id;
    const pi = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      customer,
      metadata: { k: 'search-me' },
    });
    const updated = await t.stripe.paymentIntents.update(pi.id, { amount: 1500, description: 'bigger' });
    expect(updated).toMatchObject({ amount: 1500, description: 'bigger' });
    expect((await t.stripe.paymentIntents.list({ customer })).data.map((x) => x.id)).toEqual([pi.id]);
    const found = await t.stripe.paymentIntents.search({
      query: `metadata['k']:'search-me' AND status:'requires_payment_method'`,
    });
    expect(found.data.map((x) => x.id)).toEqual([pi.id]);
  });
});

describe('extension point: owned PaymentIntents', () => {
  test('the owner hears about the status change after 3-D Secure, with request null', async () => {
    const ctx = t.emulator.ctx;
    const customer = (await t.stripe.customers.create({})).id;
    const pm = await t.stripe.paymentMethods.attach('pm_card_authenticationRequired', { customer });
    const pi = createPaymentIntent(ctx, {
      amount: 3000,
      currency: 'usd',
      customer,
      payment_method: pm.id,
      owner: { object: 'invoice', id: 'in_test123' },
    });
    const result = confirmPaymentIntent(ctx, pi, {});
    expect(result.intent.status).toBe('requires_action');
    t.emulator.control.authenticate(pi.id, 'succeed');
    expect(heard.filter((h) => h.id === pi.id)).toEqual([
      { id: pi.id, status: 'requires_confirmation', previous: null, cause: 'create', owner: 'in_test123' },
      {
        id: pi.id,
        status: 'requires_action',
        previous: 'requires_confirmation',
        cause: 'confirm',
        owner: 'in_test123',
      },
      {
        id: pi.id,
        status: 'succeeded',
        previous: 'requires_action',
        cause: 'authenticate',
        owner: 'in_test123',
      },
    ]);
    const succeeded = (await t.stripe.events.list({ type: 'payment_intent.succeeded' })).data.find(
      (e) => (e.data.object as Stripe.PaymentIntent).id === pi.id,
    )!;
    expect(succeeded.request).toBeNull();
    // The owner is bookkeeping: it never shows in the API.
    expect(JSON.stringify(await t.stripe.paymentIntents.retrieve(pi.id))).not.toContain('in_test123');
  });
});

describe('refunds and charges', () => {
  test('partial then full refund; over-refund refused; charge.refunded and refund.created', async () => {
    const customer = (await t.stripe.customers.create({})).id;
    const pi = await pay('pm_card_visa', { customer, amount: 5000 });
    const partial = await t.stripe.refunds.create({
      payment_intent: pi.id,
      amount: 2000,
      reason: 'requested_by_customer',
    });
    expect(partial).toMatchObject({
      object: 'refund',
      status: 'succeeded',
      amount: 2000,
      charge: pi.latest_charge,
    });
    let charge = await t.stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({ amount_refunded: 2000, refunded: false });
    await expect(t.stripe.refunds.create({ charge: charge.id, amount: 3001 })).rejects.toMatchObject({
      statusCode: 400,
      code: 'amount_too_large',
    });
    const rest = await t.stripe.refunds.create({ charge: charge.id });
    expect(rest.amount).toBe(3000);
    charge = await t.stripe.charges.retrieve(charge.id, { expand: ['refunds'] });
    expect(charge).toMatchObject({ amount_refunded: 5000, refunded: true });
    expect(charge.refunds!.data).toHaveLength(2);
    await expect(t.stripe.refunds.create({ charge: charge.id })).rejects.toMatchObject({
      code: 'charge_already_refunded',
    });
    const types = await typesFor(pi.id);
    expect(types.filter((x) => x === 'refund.created')).toHaveLength(2);
    const refundedEvents = (await t.stripe.events.list({ type: 'charge.refunded' })).data.filter(
      (e) => (e.data.object as Stripe.Charge).id === charge.id,
    );
    expect(refundedEvents.map((e) => (e.data.object as Stripe.Charge).amount_refunded).sort()).toEqual([
      2000, 5000,
    ]);
    expect((await t.stripe.refunds.list({ payment_intent: pi.id })).data).toHaveLength(2);
    const updated = await t.stripe.refunds.update(rest.id, { metadata: { note: 'x' } });
    expect(updated.metadata).toEqual({ note: 'x' });
    expect((await t.stripe.events.list({ type: 'refund.updated' })).data).toHaveLength(1);
  });

  test('refunding a failed charge is refused', async () => {
    const err = await pay('pm_card_chargeDeclined').catch((e) => e);
    await expect(t.stripe.refunds.create({ charge: err.raw.charge })).rejects.toMatchObject({
      statusCode: 400,
    });
  });

  test('charges list and search', async () => {
    const customer = (await t.stripe.customers.create({})).id;
    const pi = await pay('pm_card_visa', { customer, amount: 4321 });
    const list = await t.stripe.charges.list({ customer });
    expect(list.data.map((c) => c.id)).toEqual([pi.latest_charge]);
    const found = await t.stripe.charges.search({ query: 'amount:4321' });
    expect(found.data.map((c) => c.id)).toContain(pi.latest_charge);
  });
});
