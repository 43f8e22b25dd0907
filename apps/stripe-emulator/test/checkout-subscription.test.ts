/**
 * Subscription-mode Checkout: the customer, the card, the subscription and its first invoice,
 * through the official SDK and the payment_pages API Stripe.js / the Stripe CLI use.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, startTestEmulator, type TestEmulator } from './helpers.ts';

let t: TestEmulator;
let monthly: Stripe.Price;
let setupFee: Stripe.Price;

beforeAll(async () => {
  t = await startTestEmulator();
  const product = await t.stripe.products.create({ name: 'Pro plan' });
  monthly = await t.stripe.prices.create({
    product: product.id,
    unit_amount: 2000,
    currency: 'usd',
    recurring: { interval: 'month' },
  });
  setupFee = await t.stripe.prices.create({ product: product.id, unit_amount: 500, currency: 'usd' });
});
afterAll(() => t.stop());

async function errorOf(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (err) {
    return err as Stripe.errors.StripeError;
  }
  throw new Error('expected the call to fail');
}

function confirm(sessionId: string, params: Record<string, unknown>) {
  return t.stripe.rawRequest('POST', `/v1/payment_pages/${sessionId}/confirm`, params) as Promise<{
    status: string;
    payment_intent: Stripe.PaymentIntent | null;
  }>;
}

function subscriptionSession(extra: Partial<Stripe.Checkout.SessionCreateParams> = {}) {
  return t.stripe.checkout.sessions.create({
    mode: 'subscription',
    line_items: [{ price: monthly.id, quantity: 2 }],
    success_url: 'https://saas.test/welcome?cs={CHECKOUT_SESSION_ID}',
    ...extra,
  });
}

/** Event types since `after` (an event id), oldest first. */
async function typesSince(after: string | undefined): Promise<Stripe.Event[]> {
  const all = (await t.stripe.events.list({ limit: 100 })).data.reverse();
  const start = after ? all.findIndex((e) => e.id === after) + 1 : 0;
  return all.slice(start);
}

async function lastEventId(): Promise<string | undefined> {
  return (await t.stripe.events.list({ limit: 1 })).data[0]?.id;
}

describe('subscription mode', () => {
  test('creates the customer, saves the card, starts the subscription and pays its first invoice', async () => {
    const session = await subscriptionSession({
      customer_email: 'founder@example.com',
      line_items: [
        { price: monthly.id, quantity: 2 },
        { price: setupFee.id, quantity: 1 },
      ],
      subscription_data: { metadata: { plan: 'pro' } },
    });
    expect(session).toMatchObject({
      mode: 'subscription',
      status: 'open',
      payment_status: 'unpaid',
      amount_total: 4500,
      customer: null,
      subscription: null,
      invoice: null,
    });
    const before = await lastEventId();
    const page = await confirm(session.id, { payment_method: 'pm_card_visa', expected_amount: 4500 });
    expect(page.status).toBe('complete');

    const done = await t.stripe.checkout.sessions.retrieve(session.id, {
      expand: ['subscription', 'invoice', 'customer'],
    });
    expect(done).toMatchObject({ status: 'complete', payment_status: 'paid' });
    const customer = done.customer as Stripe.Customer;
    const sub = done.subscription as Stripe.Subscription;
    const invoice = done.invoice as Stripe.Invoice;
    expect(customer).toMatchObject({ email: 'founder@example.com' });
    expect(sub).toMatchObject({ status: 'active', customer: customer.id, metadata: { plan: 'pro' } });
    expect(sub.items.data.map((i) => [i.price.id, i.quantity])).toEqual([[monthly.id, 2]]);
    expect(typeof sub.default_payment_method).toBe('string');
    expect(invoice).toMatchObject({
      status: 'paid',
      amount_paid: 4500,
      billing_reason: 'subscription_create',
      customer: customer.id,
    });
    expect(invoice.parent?.subscription_details?.subscription).toBe(sub.id);
    const pm = await t.stripe.paymentMethods.retrieve(sub.default_payment_method as string);
    expect(pm.customer).toBe(customer.id);

    const events = await typesSince(before);
    const types = events.map((e) => e.type);
    for (const type of [
      'customer.created',
      'payment_method.attached',
      'customer.subscription.created',
      'invoice.created',
      'invoice.finalized',
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'invoice.paid',
      'invoice.payment_succeeded',
      'checkout.session.completed',
    ]) {
      expect(types).toContain(type);
    }
    const at = (type: Stripe.Event.Type) => types.indexOf(type);
    expect(at('customer.created')).toBeLessThan(at('payment_method.attached'));
    expect(at('payment_method.attached')).toBeLessThan(at('customer.subscription.created'));
    expect(at('invoice.paid')).toBeLessThan(at('checkout.session.completed'));
    expect(types.lastIndexOf('checkout.session.completed')).toBe(types.length - 1);
    const completed = events.find((e) => e.type === 'checkout.session.completed')!;
    expect(completed.data.object).toMatchObject({
      customer: customer.id,
      subscription: sub.id,
      invoice: invoice.id,
      status: 'complete',
    });
  });

  test('a trial: subscription trialing, nothing due, no_payment_required', async () => {
    const customer = await t.stripe.customers.create({ email: 'trial@example.com' });
    const session = await subscriptionSession({
      customer: customer.id,
      subscription_data: {
        trial_period_days: 14,
        trial_settings: { end_behavior: { missing_payment_method: 'cancel' } },
      },
    });
    expect(session).toMatchObject({ amount_total: 0, customer: customer.id });
    await confirm(session.id, { payment_method: 'pm_card_visa' });
    const done = await t.stripe.checkout.sessions.retrieve(session.id, { expand: ['subscription'] });
    expect(done).toMatchObject({
      status: 'complete',
      payment_status: 'no_payment_required',
      customer: customer.id,
    });
    const sub = done.subscription as Stripe.Subscription;
    expect(sub.status).toBe('trialing');
    expect(sub.trial_end! - sub.trial_start!).toBe(14 * 86_400);
    expect(sub.trial_settings?.end_behavior.missing_payment_method).toBe('cancel');
  });

  test('a card whose charges fail: 402, session open; another card pays the same subscription', async () => {
    const session = await subscriptionSession({ customer_email: 'retry@example.com' });
    const err = await errorOf(confirm(session.id, { payment_method: 'pm_card_chargeCustomerFail' }));
    expect(err).toMatchObject({ statusCode: 402, type: 'StripeCardError', code: 'card_declined' });
    const open = await t.stripe.checkout.sessions.retrieve(session.id);
    expect(open).toMatchObject({ status: 'open', subscription: null });

    await confirm(session.id, { payment_method: 'pm_card_visa' });
    const done = await t.stripe.checkout.sessions.retrieve(session.id, { expand: ['subscription'] });
    expect(done.status).toBe('complete');
    const sub = done.subscription as Stripe.Subscription;
    expect(sub.status).toBe('active');
    const subs = await t.stripe.subscriptions.list({ customer: done.customer as string, status: 'all' });
    expect(subs.data.map((s) => s.id)).toEqual([sub.id]);
    expect((await t.stripe.invoices.retrieve(done.invoice as string)).status).toBe('paid');
  });

  test('a card that cannot be attached is refused before anything is subscribed', async () => {
    const session = await subscriptionSession({ customer_email: 'declined@example.com' });
    const err = await errorOf(confirm(session.id, { payment_method: 'pm_card_chargeDeclined' }));
    expect(err).toMatchObject({ statusCode: 402, code: 'card_declined' });
    expect((await t.stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
    const created = await t.stripe.events.list({ type: 'customer.subscription.created', limit: 100 });
    const customers = (await t.stripe.customers.list({ email: 'declined@example.com' })).data;
    expect(
      created.data.filter((e) =>
        customers.some((c) => c.id === (e.data.object as Stripe.Subscription).customer),
      ),
    ).toEqual([]);
  });

  test('3-D Secure: the session completes when the subscription becomes active', async () => {
    const session = await subscriptionSession({ customer_email: 'sca@example.com' });
    await confirm(session.id, { payment_method: 'pm_card_authenticationRequired' });
    expect((await t.stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
    const customer = (await t.stripe.customers.list({ email: 'sca@example.com' })).data[0]!;
    const sub = (await t.stripe.subscriptions.list({ customer: customer.id, status: 'all' })).data[0]!;
    expect(sub.status).toBe('incomplete');
    const invoice = await t.stripe.invoices.retrieve(sub.latest_invoice as string, { expand: ['payments'] });
    const piId = invoice.payments?.data[0]?.payment.payment_intent as string;
    expect((await t.stripe.paymentIntents.retrieve(piId)).status).toBe('requires_action');
    t.emulator.control.authenticate(piId, 'succeed');
    const done = await eventually(async () => {
      const s = await t.stripe.checkout.sessions.retrieve(session.id);
      return s.status === 'complete' ? s : undefined;
    });
    expect(done).toMatchObject({ subscription: sub.id, invoice: invoice.id, payment_status: 'paid' });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('active');
  });

  test("on the customer's test clock: the subscription starts at the clock's time", async () => {
    const clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: 1_750_000_000 });
    const customer = await t.stripe.customers.create({ test_clock: clock.id, email: 'clock@example.com' });
    const session = await subscriptionSession({ customer: customer.id });
    expect(session.created).toBe(1_750_000_000);
    await confirm(session.id, { payment_method: 'pm_card_visa' });
    const done = await t.stripe.checkout.sessions.retrieve(session.id, { expand: ['subscription'] });
    const sub = done.subscription as Stripe.Subscription;
    expect(sub).toMatchObject({ status: 'active', start_date: 1_750_000_000 });
    const completed = (
      await t.stripe.events.list({ type: 'checkout.session.completed', limit: 100 })
    ).data.find((e) => (e.data.object as { id: string }).id === session.id);
    expect(completed?.created).toBe(1_750_000_000);
  });
});
