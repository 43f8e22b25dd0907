/**
 * Subscribing: the first invoice and its payment with a card that succeeds, needs 3-D Secure
 * or is declined (flows 1–3 of STRIPE.md), payment_behavior variants, and the 23 h expiry of
 * an incomplete subscription.
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

describe('subscribe', () => {
  test('flow 1: a card that succeeds — active, first invoice paid, events and signed webhooks', async () => {
    const { customer } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id, quantity: 2 }],
      metadata: { org: 'o_1' },
      expand: ['latest_invoice.payments'],
    });
    expect(sub).toMatchObject({
      object: 'subscription',
      status: 'active',
      customer: customer.id,
      currency: 'usd',
      collection_method: 'charge_automatically',
      cancel_at_period_end: false,
      metadata: { org: 'o_1' },
      billing_mode: { type: 'flexible' },
    });
    const item = sub.items.data[0]!;
    expect(item).toMatchObject({ object: 'subscription_item', quantity: 2, price: { id: prices.basic.id } });
    expect(item.plan).toMatchObject({ id: prices.basic.id, object: 'plan', amount: 2900, interval: 'month' });
    expect(item.current_period_start).toBe(sub.start_date);
    expect(item.current_period_end - item.current_period_start).toBe(30 * 86_400);
    expect('current_period_end' in sub).toBe(false);

    const invoice = sub.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({
      object: 'invoice',
      status: 'paid',
      billing_reason: 'subscription_create',
      amount_due: 5800,
      amount_paid: 5800,
      amount_remaining: 0,
      subtotal: 5800,
      total: 5800,
      attempt_count: 1,
      attempted: true,
      customer: customer.id,
      parent: {
        type: 'subscription_details',
        subscription_details: { subscription: sub.id, metadata: { org: 'o_1' } },
      },
    });
    expect(invoice.number).toMatch(new RegExp(`^${customer.invoice_prefix}-0001$`));
    expect(invoice.hosted_invoice_url).toBe(`${t.emulator.url}/_emulator/invoice/${invoice.id}`);
    expect('payment_intent' in invoice || 'subscription' in invoice || 'charge' in invoice).toBe(false);
    expect(invoice.lines.data).toHaveLength(1);
    expect(invoice.lines.data[0]).toMatchObject({
      amount: 5800,
      quantity: 2,
      description: '2 × Pro (at $29.00 / month)',
      pricing: {
        type: 'price_details',
        price_details: { price: prices.basic.id, product: prices.product.id },
      },
      parent: {
        type: 'subscription_item_details',
        subscription_item_details: { subscription: sub.id, subscription_item: item.id, proration: false },
      },
      period: { start: item.current_period_start, end: item.current_period_end },
    });
    const payments = invoice.payments!.data;
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({
      object: 'invoice_payment',
      status: 'paid',
      amount_paid: 5800,
      is_default: true,
    });
    const pi = await t.stripe.paymentIntents.retrieve(payments[0]!.payment.payment_intent as string);
    expect(pi).toMatchObject({ status: 'succeeded', amount: 5800, customer: customer.id });
    expect((await t.stripe.invoicePayments.list({ invoice: invoice.id })).data.map((p) => p.id)).toEqual([
      payments[0]!.id,
    ]);

    const events = await eventsAbout(t.stripe, [sub.id, invoice.id, pi.id]);
    expect(types(events)).toEqual(
      expect.arrayContaining([
        'customer.subscription.created',
        'invoice.created',
        'invoice.finalized',
        'payment_intent.created',
        'charge.succeeded',
        'payment_intent.succeeded',
        'invoice.paid',
        'invoice.payment_succeeded',
        'invoice_payment.paid',
      ]),
    );
    expectInOrder(types(events), [
      'invoice.created',
      'invoice.finalized',
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'invoice.paid',
      'invoice.payment_succeeded',
      'invoice_payment.paid',
    ]);
    const created = events.find((e) => e.type === 'customer.subscription.created')!;
    expect(created.data.object).toMatchObject({ status: 'active', latest_invoice: invoice.id });
    expect(created.request?.id).toMatch(/^req_/);
    // The same events reach the webhook endpoint, signed.
    await t.emulator.control.waitForDeliveries();
    const delivered = verifiedDeliveries(receiver, [sub.id, invoice.id]);
    expect(types(delivered)).toEqual(
      expect.arrayContaining(['customer.subscription.created', 'invoice.paid', 'invoice.payment_succeeded']),
    );
  });

  test('flow 2: a card needing 3-D Secure — incomplete, then active after authentication', async () => {
    const { customer } = await customerOnClock(t.stripe, 'pm_card_authenticationRequired');
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
      expand: ['latest_invoice.confirmation_secret', 'latest_invoice.payments.data.payment.payment_intent'],
    });
    expect(sub.status).toBe('incomplete');
    const invoice = sub.latest_invoice as Stripe.Invoice;
    expect(invoice.status).toBe('open');
    const pi = invoice.payments!.data[0]!.payment.payment_intent as Stripe.PaymentIntent;
    expect(pi.status).toBe('requires_action');
    expect(invoice.confirmation_secret).toEqual({ client_secret: pi.client_secret, type: 'payment_intent' });
    let events = types(await eventsAbout(t.stripe, [sub.id, invoice.id, pi.id]));
    expectInOrder(events, [
      'invoice.created',
      'invoice.finalized',
      'payment_intent.requires_action',
      'invoice.payment_action_required',
    ]);
    expect(events).toContain('customer.subscription.created');
    expect(events).not.toContain('invoice.paid');

    await fetch(`${t.emulator.url}/_emulator/authenticate/${pi.id}`, {
      method: 'POST',
      body: JSON.stringify({ outcome: 'succeed' }),
    });
    const after = await t.stripe.subscriptions.retrieve(sub.id);
    expect(after.status).toBe('active');
    expect((await t.stripe.invoices.retrieve(invoice.id)).status).toBe('paid');
    const all = await eventsAbout(t.stripe, [sub.id, invoice.id, pi.id]);
    events = types(all);
    expectInOrder(events, [
      'invoice.payment_action_required',
      'charge.succeeded',
      'payment_intent.succeeded',
      'invoice.paid',
      'invoice.payment_succeeded',
      'customer.subscription.updated',
    ]);
    const updated = all.find((e) => e.type === 'customer.subscription.updated')!;
    expect(updated.data.previous_attributes).toMatchObject({ status: 'incomplete' });
    expect(updated.data.object).toMatchObject({ status: 'active' });
    expect(updated.request).toBeNull();
  });

  test('flow 3: a declined card — incomplete, invoice open, failure events', async () => {
    const { customer } = await customerOnClock(t.stripe, 'pm_card_chargeCustomerFail');
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
    });
    expect(sub.status).toBe('incomplete');
    const invoice = await t.stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(invoice).toMatchObject({
      status: 'open',
      attempt_count: 1,
      attempted: true,
      amount_remaining: 2900,
    });
    // The first invoice is not retried: the subscription expires instead.
    expect(invoice.next_payment_attempt).toBeNull();
    const [payment] = (await t.stripe.invoicePayments.list({ invoice: invoice.id })).data;
    expect(payment).toMatchObject({ status: 'open', amount_paid: null, amount_requested: 2900 });
    const pi = await t.stripe.paymentIntents.retrieve(payment!.payment.payment_intent as string);
    expect(pi).toMatchObject({
      status: 'requires_payment_method',
      last_payment_error: { code: 'card_declined' },
    });
    const events = types(await eventsAbout(t.stripe, [sub.id, invoice.id, pi.id]));
    expectInOrder(events, [
      'invoice.finalized',
      'charge.failed',
      'payment_intent.payment_failed',
      'invoice.payment_failed',
    ]);
    expect(events).not.toContain('invoice.paid');
  });

  test('error_if_incomplete with a declining card: 402 and nothing created', async () => {
    const { customer } = await customerOnClock(t.stripe, 'pm_card_chargeCustomerFail');
    const before = (await t.stripe.events.list({ limit: 100 })).data.length;
    await expect(
      t.stripe.subscriptions.create({
        customer: customer.id,
        items: [{ price: prices.basic.id }],
        payment_behavior: 'error_if_incomplete',
      }),
    ).rejects.toMatchObject({ statusCode: 402, type: 'StripeCardError', code: 'card_declined' });
    expect((await t.stripe.subscriptions.list({ customer: customer.id, status: 'all' })).data).toHaveLength(
      0,
    );
    expect((await t.stripe.invoices.list({ customer: customer.id })).data).toHaveLength(0);
    expect((await t.stripe.events.list({ limit: 100 })).data.length).toBe(before);
  });

  test('no payment method: 400 unless default_incomplete', async () => {
    const { customer } = await customerOnClock(t.stripe, null);
    await expect(
      t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: prices.basic.id }] }),
    ).rejects.toMatchObject({
      statusCode: 400,
      message: expect.stringContaining(
        'This customer has no attached payment source or default payment method',
      ),
    });
    expect((await t.stripe.subscriptions.list({ customer: customer.id, status: 'all' })).data).toHaveLength(
      0,
    );
  });

  test('default_incomplete: the client confirms the invoice PaymentIntent, then active', async () => {
    const { customer } = await customerOnClock(t.stripe, null);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.pro.id }],
      payment_behavior: 'default_incomplete',
      payment_settings: { save_default_payment_method: 'on_subscription' },
      expand: ['latest_invoice.confirmation_secret'],
    });
    expect(sub.status).toBe('incomplete');
    const invoice = sub.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({ status: 'open', attempt_count: 0, amount_due: 7900 });
    const secret = invoice.confirmation_secret!.client_secret;
    const piId = secret.split('_secret_')[0]!;
    const pk = t.client('pk_test_123');
    const confirmed = await pk.paymentIntents.confirm(piId, {
      client_secret: secret,
      payment_method: 'pm_card_visa',
    } as Stripe.PaymentIntentConfirmParams);
    expect(confirmed.status).toBe('succeeded');
    const after = await t.stripe.subscriptions.retrieve(sub.id);
    expect(after.status).toBe('active');
    expect(after.default_payment_method).toBe(confirmed.payment_method);
    expect((await t.stripe.invoices.retrieve(invoice.id)).status).toBe('paid');
  });

  test('default_incomplete with a trial: pending_setup_intent collects the card', async () => {
    const { customer } = await customerOnClock(t.stripe, null);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
      trial_period_days: 7,
      payment_behavior: 'default_incomplete',
      payment_settings: { save_default_payment_method: 'on_subscription' },
      expand: ['pending_setup_intent'],
    });
    expect(sub.status).toBe('trialing');
    const si = sub.pending_setup_intent as Stripe.SetupIntent;
    expect(si).toMatchObject({
      object: 'setup_intent',
      status: 'requires_payment_method',
      usage: 'off_session',
    });
    const pk = t.client('pk_test_123');
    await pk.setupIntents.confirm(si.id, {
      client_secret: si.client_secret,
      payment_method: 'pm_card_visa',
    } as Stripe.SetupIntentConfirmParams);
    const after = await t.stripe.subscriptions.retrieve(sub.id);
    expect(after.pending_setup_intent).toBeNull();
    expect(after.default_payment_method).toMatch(/^pm_/);
    const update = (await eventsAbout(t.stripe, [sub.id])).find(
      (e) => e.type === 'customer.subscription.updated',
    )!;
    expect(update.data.previous_attributes).toMatchObject({
      pending_setup_intent: si.id,
      default_payment_method: null,
    });
  });

  test('billing_cycle_anchor on create: a prorated first period up to the anchor', async () => {
    const { customer } = await customerOnClock(t.stripe);
    const anchor = APRIL_1_2027 + 10 * 86_400; // April 11
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
      billing_cycle_anchor: anchor,
      expand: ['latest_invoice'],
    });
    expect(sub.billing_cycle_anchor).toBe(anchor);
    expect(sub.items.data[0]).toMatchObject({
      current_period_start: APRIL_1_2027,
      current_period_end: anchor,
    });
    // March 11 → April 11 is 31 days; 10 of them are billed.
    const invoice = sub.latest_invoice as Stripe.Invoice;
    expect(invoice.amount_paid).toBe(Math.round((2900 * 10) / 31));
    expect(invoice.lines.data[0]!.parent?.subscription_item_details?.proration).toBe(true);
  });

  test('an incomplete subscription expires after 23 hours and its invoice is voided', async () => {
    const { customer, clock } = await customerOnClock(t.stripe, 'pm_card_chargeCustomerFail');
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
    });
    expect(sub.status).toBe('incomplete');
    await advance(t.stripe, clock.id, clock.frozen_time + 22 * 3600);
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('incomplete');
    await advance(t.stripe, clock.id, clock.frozen_time + 23 * 3600 + 1);
    const expired = await t.stripe.subscriptions.retrieve(sub.id);
    expect(expired).toMatchObject({ status: 'incomplete_expired', ended_at: clock.frozen_time + 23 * 3600 });
    expect((await t.stripe.invoices.retrieve(sub.latest_invoice as string)).status).toBe('void');
    const events = await eventsAbout(t.stripe, [sub.id]);
    const update = events.find(
      (e) =>
        e.type === 'customer.subscription.updated' &&
        (e.data.object as Stripe.Subscription).status === 'incomplete_expired',
    )!;
    expect(update.data.previous_attributes).toMatchObject({ status: 'incomplete' });
    expect(update.request).toBeNull();
    expect(types(events)).toContain('invoice.voided');
    // Listing: incomplete_expired is not "canceled", so it is in the default list.
    expect((await t.stripe.subscriptions.list({ customer: customer.id })).data.map((s) => s.id)).toContain(
      sub.id,
    );
  });
});
