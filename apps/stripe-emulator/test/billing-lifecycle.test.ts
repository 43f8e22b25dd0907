/**
 * The engine moving subscriptions through time on test clocks: trials (flow 4), renewals,
 * failed renewals with retries and the end of dunning (flow 7), cancel at period end
 * (flow 6) and immediately, send_invoice, repeating coupons, clock limits and deletion.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
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
const MAY_1 = APRIL_1_2027 + 30 * DAY;
const JUNE_1 = MAY_1 + 31 * DAY;
const JULY_1 = JUNE_1 + 30 * DAY;

let t: TestEmulator;
let receiver: WebhookReceiver;
let prices: Catalog;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  t = await startTestEmulator({ webhookEndpoints: [{ url: receiver.url, secret: WEBHOOK_SECRET }] });
  prices = await catalog(t.stripe);
});
beforeEach(() => {
  t.emulator.control.setRetrySchedule({
    days: [1, 3, 5, 7, 9, 11, 14],
    end: 'canceled',
    markUncollectible: false,
  });
});
afterAll(async () => {
  await t.stop();
  await receiver.close();
});

async function invoicesOf(subscription: string): Promise<Stripe.Invoice[]> {
  return (await t.stripe.invoices.list({ subscription, limit: 100 })).data.reverse();
}

describe('trials', () => {
  test('flow 4: trialing with a $0 invoice, trial_will_end 3 days ahead, then active and paid', async () => {
    const { customer, clock } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
      trial_period_days: 14,
    });
    const trialEnd = APRIL_1_2027 + 14 * DAY;
    expect(sub).toMatchObject({ status: 'trialing', trial_start: APRIL_1_2027, trial_end: trialEnd });
    expect(period(sub)).toEqual({ start: APRIL_1_2027, end: trialEnd });
    const [first] = await invoicesOf(sub.id);
    expect(first).toMatchObject({
      status: 'paid',
      total: 0,
      amount_due: 0,
      billing_reason: 'subscription_create',
    });
    expect(first!.lines.data[0]!.description).toBe('Trial period for Pro');
    let events = await eventsAbout(t.stripe, [sub.id]);
    expect(events.find((e) => e.type === 'customer.subscription.created')!.data.object).toMatchObject({
      status: 'trialing',
    });
    expectInOrder(types(events), [
      'invoice.created',
      'invoice.finalized',
      'invoice.paid',
      'invoice.payment_succeeded',
    ]);
    expect(types(events)).not.toContain('customer.subscription.trial_will_end');

    await advance(t.stripe, clock.id, trialEnd - 3 * DAY - 60);
    expect(types(await eventsAbout(t.stripe, [sub.id]))).not.toContain(
      'customer.subscription.trial_will_end',
    );
    await advance(t.stripe, clock.id, trialEnd - 3 * DAY);
    events = await eventsAbout(t.stripe, [sub.id]);
    const willEnd = events.find((e) => e.type === 'customer.subscription.trial_will_end')!;
    expect(willEnd).toMatchObject({ created: trialEnd - 3 * DAY, request: null });
    expect(willEnd.data.object).toMatchObject({ status: 'trialing', trial_end: trialEnd });

    await advance(t.stripe, clock.id, trialEnd + 3600);
    const active = await t.stripe.subscriptions.retrieve(sub.id);
    expect(active.status).toBe('active');
    expect(period(active)).toEqual({ start: trialEnd, end: trialEnd + 30 * DAY });
    expect(active.billing_cycle_anchor).toBe(trialEnd);
    const [, renewal] = await invoicesOf(sub.id);
    expect(renewal).toMatchObject({
      status: 'paid',
      billing_reason: 'subscription_cycle',
      amount_paid: 2900,
      created: trialEnd,
      status_transitions: { finalized_at: trialEnd + 3600, paid_at: trialEnd + 3600 },
    });
    events = await eventsAbout(t.stripe, [sub.id, renewal!.id]);
    const toActive = events.find(
      (e) => e.type === 'customer.subscription.updated' && e.data.previous_attributes?.status === 'trialing',
    )!;
    expect(toActive).toMatchObject({ request: null, created: trialEnd });
    expect(toActive.data.object).toMatchObject({ status: 'active' });
    expectInOrder(types(events), [
      'customer.subscription.trial_will_end',
      'customer.subscription.updated',
      'invoice.created',
      'invoice.finalized',
      'invoice.paid',
    ]);
    // invoice.upcoming came 3 days before the trial end, without an id.
    const upcoming = events.find((e) => e.type === 'invoice.upcoming')!;
    expect(upcoming.created).toBe(trialEnd - 3 * DAY);
    expect(upcoming.data.object).toMatchObject({ amount_due: 2900, billing_reason: 'subscription_cycle' });
    expect('id' in upcoming.data.object).toBe(false);
  });

  test('trial_will_end is immediate when less than 3 days remain', async () => {
    const { customer } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
      trial_end: APRIL_1_2027 + DAY,
    });
    const events = await eventsAbout(t.stripe, [sub.id]);
    expectInOrder(types(events), ['customer.subscription.created', 'customer.subscription.trial_will_end']);
  });

  test('a trial ending without a payment method: pause, cancel, or create_invoice', async () => {
    const outcomes: Record<string, string> = {};
    for (const behavior of ['pause', 'cancel', 'create_invoice'] as const) {
      const { customer, clock } = await customerOnClock(t.stripe, null);
      const sub = await t.stripe.subscriptions.create({
        customer: customer.id,
        items: [{ price: prices.basic.id }],
        trial_period_days: 7,
        trial_settings: { end_behavior: { missing_payment_method: behavior } },
      });
      await advance(t.stripe, clock.id, APRIL_1_2027 + 7 * DAY + 3600);
      const after = await t.stripe.subscriptions.retrieve(sub.id);
      outcomes[behavior] = after.status;
      const evts = types(await eventsAbout(t.stripe, [sub.id]));
      if (behavior === 'pause') {
        expect(after.status_details?.paused.subscription.type).toBe('trial_end_without_payment_method');
        expect(evts).toContain('customer.subscription.paused');
        expect(await invoicesOf(sub.id)).toHaveLength(1);
        // Resuming needs a card now; it starts a new period and bills it.
        await t.stripe.subscriptions.update(sub.id, { default_payment_method: 'pm_card_visa' });
        const resumed = await t.stripe.subscriptions.resume(sub.id);
        expect(resumed.status).toBe('active');
        expect((await invoicesOf(sub.id)).at(-1)).toMatchObject({ status: 'paid', amount_paid: 2900 });
        expect(types(await eventsAbout(t.stripe, [sub.id]))).toContain('customer.subscription.resumed');
      }
      if (behavior === 'cancel') expect(evts).toContain('customer.subscription.deleted');
      if (behavior === 'create_invoice') {
        const renewal = (await invoicesOf(sub.id)).at(-1)!;
        expect(renewal).toMatchObject({ status: 'open', attempt_count: 1, next_payment_attempt: null });
        expect(evts).toContain('invoice.payment_failed');
      }
    }
    expect(outcomes).toEqual({ pause: 'paused', cancel: 'canceled', create_invoice: 'past_due' });
  });
});

describe('renewals', () => {
  test('renewal succeeds: new period, invoice created, finalized an hour later and paid', async () => {
    const { customer, clock } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.pro.id }],
    });
    await advance(t.stripe, clock.id, MAY_1);
    let renewal = (await invoicesOf(sub.id))[1]!;
    expect(renewal).toMatchObject({
      status: 'draft',
      billing_reason: 'subscription_cycle',
      amount_due: 7900,
      automatically_finalizes_at: MAY_1 + 3600,
      next_payment_attempt: MAY_1 + 3600,
      period_start: APRIL_1_2027,
      period_end: MAY_1,
    });
    const renewed = await t.stripe.subscriptions.retrieve(sub.id);
    expect(period(renewed)).toEqual({ start: MAY_1, end: JUNE_1 });
    expect(renewed.latest_invoice).toBe(renewal.id);
    await advance(t.stripe, clock.id, MAY_1 + 3600);
    renewal = await t.stripe.invoices.retrieve(renewal.id);
    expect(renewal).toMatchObject({
      status: 'paid',
      amount_paid: 7900,
      attempt_count: 1,
      next_payment_attempt: null,
    });
    expect(renewal.number).toBe(`${customer.invoice_prefix}-0002`);
    const events = await eventsAbout(t.stripe, [sub.id, renewal.id]);
    const cycle = events.find((e) => e.type === 'customer.subscription.updated' && e.created === MAY_1)!;
    expect(cycle.request).toBeNull();
    expect(
      (cycle.data.previous_attributes as { items: Stripe.ApiList<Stripe.SubscriptionItem> }).items.data[0],
    ).toMatchObject({
      current_period_start: APRIL_1_2027,
      current_period_end: MAY_1,
    });
    expectInOrder(types(events), [
      'customer.subscription.updated',
      'invoice.created',
      'invoice.finalized',
      'invoice.paid',
    ]);
  });

  test('flow 7: renewal fails, retries on schedule while past_due, then canceled', async () => {
    t.emulator.control.setRetrySchedule({ days: [1, 3], end: 'canceled', markUncollectible: false });
    const { customer, clock } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
    });
    // The card on file starts failing.
    await t.stripe.subscriptions.update(sub.id, { default_payment_method: 'pm_card_chargeCustomerFail' });
    await advance(t.stripe, clock.id, MAY_1 + 3600);
    const renewal = (await invoicesOf(sub.id))[1]!;
    const firstFailure = MAY_1 + 3600;
    expect(renewal).toMatchObject({
      status: 'open',
      attempt_count: 1,
      attempted: true,
      next_payment_attempt: firstFailure + DAY,
    });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('past_due');
    let events = await eventsAbout(t.stripe, [sub.id, renewal.id]);
    expectInOrder(types(events), [
      'customer.subscription.updated',
      'invoice.created',
      'invoice.finalized',
      'invoice.payment_failed',
      'invoice.updated',
      'customer.subscription.updated',
    ]);
    const pastDue = events.filter((e) => e.type === 'customer.subscription.updated').at(-1)!;
    expect(pastDue.data.previous_attributes).toEqual({ status: 'active' });
    expect(pastDue.data.object).toMatchObject({ status: 'past_due' });
    const updated = events.find((e) => e.type === 'invoice.updated')!;
    expect(updated.data.previous_attributes).toMatchObject({ attempt_count: 0 });
    expect(updated.data.object).toMatchObject({ attempt_count: 1, next_payment_attempt: firstFailure + DAY });

    await advance(t.stripe, clock.id, firstFailure + DAY);
    expect(await t.stripe.invoices.retrieve(renewal.id)).toMatchObject({
      attempt_count: 2,
      next_payment_attempt: firstFailure + 3 * DAY,
    });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('past_due');
    await advance(t.stripe, clock.id, firstFailure + 3 * DAY);
    const canceled = await t.stripe.subscriptions.retrieve(sub.id);
    expect(canceled).toMatchObject({
      status: 'canceled',
      canceled_at: firstFailure + 3 * DAY,
      cancellation_details: { reason: 'payment_failed' },
    });
    expect(await t.stripe.invoices.retrieve(renewal.id)).toMatchObject({
      status: 'open',
      attempt_count: 3,
      next_payment_attempt: null,
    });
    events = await eventsAbout(t.stripe, [sub.id, renewal.id]);
    expect(types(events).filter((x) => x === 'invoice.payment_failed')).toHaveLength(3);
    const deleted = events.find((e) => e.type === 'customer.subscription.deleted')!;
    expect(deleted.request).toBeNull();
    await t.emulator.control.waitForDeliveries();
    expect(types(verifiedDeliveries(receiver, [sub.id]))).toContain('customer.subscription.deleted');
  });

  test('a renewal needing 3-D Secure: payment_action_required, past_due, active once authenticated', async () => {
    const { customer, clock } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
    });
    await t.stripe.subscriptions.update(sub.id, { default_payment_method: 'pm_card_authenticationRequired' });
    await advance(t.stripe, clock.id, MAY_1 + 3600);
    const renewal = (await invoicesOf(sub.id))[1]!;
    expect(renewal).toMatchObject({ status: 'open', attempt_count: 1 });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('past_due');
    const [payment] = (await t.stripe.invoicePayments.list({ invoice: renewal.id })).data;
    const piId = payment!.payment.payment_intent as string;
    expect((await t.stripe.paymentIntents.retrieve(piId)).status).toBe('requires_action');
    expect(types(await eventsAbout(t.stripe, [renewal.id]))).toContain('invoice.payment_action_required');
    t.emulator.control.authenticate(piId, 'succeed');
    expect((await t.stripe.invoices.retrieve(renewal.id)).status).toBe('paid');
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('active');
  });

  test('when retries run out the subscription can become unpaid and the invoice uncollectible', async () => {
    t.emulator.control.setRetrySchedule({ days: [2], end: 'unpaid', markUncollectible: true });
    const { customer, clock } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
    });
    await t.stripe.subscriptions.update(sub.id, { default_payment_method: 'pm_card_chargeCustomerFail' });
    await advance(t.stripe, clock.id, MAY_1 + 3600 + 2 * DAY);
    const after = await t.stripe.subscriptions.retrieve(sub.id);
    expect(after.status).toBe('unpaid');
    const renewal = (await invoicesOf(sub.id))[1]!;
    expect(renewal).toMatchObject({ status: 'uncollectible', attempt_count: 2 });
    expect(types(await eventsAbout(t.stripe, [renewal.id]))).toContain('invoice.marked_uncollectible');
    // While unpaid, the next renewal's invoice stays a draft and is not charged.
    await advance(t.stripe, clock.id, JUNE_1 + 2 * 3600);
    expect((await invoicesOf(sub.id))[2]).toMatchObject({ status: 'draft', auto_advance: false });
    // Paying the uncollectible invoice makes the subscription active again.
    await t.stripe.invoices.pay(renewal.id, { payment_method: 'pm_card_visa' });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('active');
  });

  test('no retries after a hard decline (fraudulent): the end waits for the retry window', async () => {
    t.emulator.control.setRetrySchedule({ days: [1, 3], end: 'canceled', markUncollectible: false });
    const { customer, clock } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
    });
    await t.stripe.subscriptions.update(sub.id, { default_payment_method: 'pm_card_radarBlock' });
    await advance(t.stripe, clock.id, MAY_1 + 3600);
    const renewal = (await invoicesOf(sub.id))[1]!;
    expect(renewal).toMatchObject({ status: 'open', attempt_count: 1, next_payment_attempt: null });
    await advance(t.stripe, clock.id, MAY_1 + 3600 + 2 * DAY);
    expect((await t.stripe.invoices.retrieve(renewal.id)).attempt_count).toBe(1);
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('past_due');
    await advance(t.stripe, clock.id, MAY_1 + 3600 + 3 * DAY);
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('canceled');
  });

  test('a renewal on the global clock (no test clock)', async () => {
    const customer = await t.stripe.customers.create({
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const daily = await t.stripe.prices.create({
      product: prices.product.id,
      currency: 'usd',
      unit_amount: 100,
      recurring: { interval: 'day' },
    });
    const sub = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: daily.id }] });
    t.emulator.control.advanceTime({ seconds: DAY + 3601 });
    const list = await invoicesOf(sub.id);
    expect(list.map((i) => [i.billing_reason, i.status])).toEqual([
      ['subscription_create', 'paid'],
      ['subscription_cycle', 'paid'],
    ]);
    expect(list[1]!.created).toBe(period(sub).end);
  });
});

describe('cancellation', () => {
  test('flow 6: cancel at period end — updated now, deleted (request: null) at the end, no new invoice', async () => {
    const { customer, clock } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
    });
    const updated = await t.stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    expect(updated).toMatchObject({ status: 'active', cancel_at_period_end: true, cancel_at: MAY_1 });
    let events = await eventsAbout(t.stripe, [sub.id]);
    const update = events.find((e) => e.type === 'customer.subscription.updated')!;
    expect(update.data.previous_attributes).toEqual({ cancel_at_period_end: false, cancel_at: null });
    expect(update.request?.id).toMatch(/^req_/);
    await advance(t.stripe, clock.id, MAY_1 + 3600);
    const ended = await t.stripe.subscriptions.retrieve(sub.id);
    expect(ended).toMatchObject({
      status: 'canceled',
      canceled_at: MAY_1,
      ended_at: MAY_1,
      cancellation_details: { reason: 'cancellation_requested' },
    });
    expect(await invoicesOf(sub.id)).toHaveLength(1);
    events = await eventsAbout(t.stripe, [sub.id]);
    const deleted = events.find((e) => e.type === 'customer.subscription.deleted')!;
    expect(deleted).toMatchObject({ request: null, created: MAY_1 });
    // Canceled subscriptions leave the default list.
    expect((await t.stripe.subscriptions.list({ customer: customer.id })).data).toHaveLength(0);
    expect(
      (await t.stripe.subscriptions.list({ customer: customer.id, status: 'canceled' })).data,
    ).toHaveLength(1);
  });

  test('cancel now with prorate + invoice_now credits the unused time to the balance', async () => {
    const { customer, clock } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
    });
    await advance(t.stripe, clock.id, APRIL_1_2027 + 15 * DAY); // exactly half of April
    const canceled = await t.stripe.subscriptions.cancel(sub.id, { prorate: true, invoice_now: true });
    expect(canceled).toMatchObject({ status: 'canceled', canceled_at: APRIL_1_2027 + 15 * DAY });
    const final = (await t.stripe.invoices.retrieve(canceled.latest_invoice as string)) as Stripe.Invoice;
    expect(final).toMatchObject({
      total: -1450,
      amount_due: 0,
      status: 'paid',
      starting_balance: 0,
      ending_balance: -1450,
    });
    expect(final.lines.data[0]!.description).toBe('Unused time on Pro after 16 Apr 2027');
    expect((await t.stripe.customers.retrieve(customer.id)) as Stripe.Customer).toMatchObject({
      balance: -1450,
    });
    const deleted = (await eventsAbout(t.stripe, [sub.id])).find(
      (e) => e.type === 'customer.subscription.deleted',
    )!;
    expect(deleted.request?.id).toMatch(/^req_/);
    // The credit pays the next invoice first.
    await t.stripe.invoiceItems.create({ customer: customer.id, amount: 2000, currency: 'usd' });
    const next = await t.stripe.invoices.create({
      customer: customer.id,
      pending_invoice_items_behavior: 'include',
    });
    const paid = await t.stripe.invoices.finalizeInvoice(next.id);
    expect(paid).toMatchObject({ total: 2000, starting_balance: -1450, ending_balance: 0, amount_due: 550 });
  });

  test('cancel_at: mid-period at that time; after the period end the last period is shortened and prorated', async () => {
    const { customer, clock } = await customerOnClock(t.stripe);
    const early = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
    });
    const updated = await t.stripe.subscriptions.update(early.id, { cancel_at: APRIL_1_2027 + 19 * DAY });
    expect(updated).toMatchObject({ cancel_at: APRIL_1_2027 + 19 * DAY, cancel_at_period_end: false });
    const late = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.pro.id }],
      cancel_at: MAY_1 + 14 * DAY,
    });
    await advance(t.stripe, clock.id, APRIL_1_2027 + 19 * DAY + 1);
    expect(await t.stripe.subscriptions.retrieve(early.id)).toMatchObject({
      status: 'canceled',
      canceled_at: APRIL_1_2027 + 19 * DAY,
    });
    const deleted = (await eventsAbout(t.stripe, [early.id])).find(
      (e) => e.type === 'customer.subscription.deleted',
    )!;
    expect(deleted.request).toBeNull();
    const preview = await t.stripe.invoices.createPreview({ subscription: late.id });
    await advance(t.stripe, clock.id, MAY_1 + 3600);
    const last = await t.stripe.subscriptions.retrieve(late.id);
    expect(period(last)).toEqual({ start: MAY_1, end: MAY_1 + 14 * DAY });
    const invoice = await t.stripe.invoices.retrieve(last.latest_invoice as string);
    expect(invoice.amount_paid).toBe(Math.round((7900 * 14) / 31));
    expect(preview.amount_due).toBe(invoice.amount_paid);
    await advance(t.stripe, clock.id, MAY_1 + 14 * DAY);
    expect((await t.stripe.subscriptions.retrieve(late.id)).status).toBe('canceled');
    expect(await invoicesOf(late.id)).toHaveLength(2);
  });

  test('deleting the customer cancels its subscriptions', async () => {
    const { customer } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
    });
    await t.stripe.customers.del(customer.id);
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('canceled');
    expect(types(await eventsAbout(t.stripe, [sub.id]))).toContain('customer.subscription.deleted');
  });

  test('cancel now without options: no invoice, canceled at once', async () => {
    const { customer } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
    });
    const canceled = await t.stripe.subscriptions.cancel(sub.id);
    expect(canceled.status).toBe('canceled');
    expect(await invoicesOf(sub.id)).toHaveLength(1);
    await expect(t.stripe.subscriptions.cancel(sub.id)).rejects.toMatchObject({ statusCode: 400 });
    await expect(
      t.stripe.subscriptions.update(sub.id, { items: [{ price: prices.pro.id }] }),
    ).rejects.toMatchObject({
      statusCode: 400,
    });
  });
});

describe('collection and discounts', () => {
  test('send_invoice with days_until_due=30: sent, left open, not charged; past_due after the due date', async () => {
    const { customer, clock } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
      collection_method: 'send_invoice',
      days_until_due: 30,
    });
    expect(sub).toMatchObject({ status: 'active', collection_method: 'send_invoice', days_until_due: 30 });
    const invoice = await t.stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(invoice).toMatchObject({
      status: 'open',
      collection_method: 'send_invoice',
      due_date: APRIL_1_2027 + 30 * DAY,
      attempt_count: 0,
      next_payment_attempt: null,
    });
    expect(types(await eventsAbout(t.stripe, [invoice.id]))).toContain('invoice.sent');
    const [payment] = (await t.stripe.invoicePayments.list({ invoice: invoice.id })).data;
    const pi = await t.stripe.paymentIntents.retrieve(payment!.payment.payment_intent as string);
    expect(pi.latest_charge).toBeNull();
    await advance(t.stripe, clock.id, APRIL_1_2027 + 20 * DAY);
    expect((await t.stripe.invoices.retrieve(invoice.id)).status).toBe('open');
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('active');
    await advance(t.stripe, clock.id, APRIL_1_2027 + 30 * DAY + 60);
    expect(types(await eventsAbout(t.stripe, [invoice.id]))).toContain('invoice.overdue');
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('past_due');
    // The customer pays on the hosted page.
    const page = await fetch(invoice.hosted_invoice_url!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('$29.00');
    await fetch(`${t.emulator.url}/_emulator/invoice/${invoice.id}/pay`, {
      method: 'POST',
      body: JSON.stringify({ payment_method: 'pm_card_visa' }),
      redirect: 'manual',
    });
    expect((await t.stripe.invoices.retrieve(invoice.id)).status).toBe('paid');
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('active');
  });

  test('pause_collection: renewal invoices are voided (or kept as drafts) until resumes_at', async () => {
    const { customer, clock } = await customerOnClock(t.stripe);
    const voiding = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
    });
    const drafting = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.pro.id }],
    });
    const paused = await t.stripe.subscriptions.update(voiding.id, {
      pause_collection: { behavior: 'void', resumes_at: MAY_1 + 10 * DAY },
    });
    expect(paused).toMatchObject({
      status: 'active',
      pause_collection: { behavior: 'void', resumes_at: MAY_1 + 10 * DAY },
    });
    await t.stripe.subscriptions.update(drafting.id, { pause_collection: { behavior: 'keep_as_draft' } });
    await advance(t.stripe, clock.id, MAY_1 + 2 * 3600);
    expect((await invoicesOf(voiding.id))[1]).toMatchObject({ status: 'void', amount_paid: 0 });
    expect((await invoicesOf(drafting.id))[1]).toMatchObject({ status: 'draft', auto_advance: false });
    await advance(t.stripe, clock.id, MAY_1 + 10 * DAY);
    expect((await t.stripe.subscriptions.retrieve(voiding.id)).pause_collection).toBeNull();
    await advance(t.stripe, clock.id, JUNE_1 + 3600);
    expect((await invoicesOf(voiding.id))[2]).toMatchObject({ status: 'paid', amount_paid: 2900 });
  });

  test('extending a trial moves its end and the trial_will_end announcement', async () => {
    const { customer, clock } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
      trial_period_days: 7,
    });
    const extended = await t.stripe.subscriptions.update(sub.id, { trial_end: APRIL_1_2027 + 20 * DAY });
    expect(extended).toMatchObject({ status: 'trialing', trial_end: APRIL_1_2027 + 20 * DAY });
    expect(period(extended).end).toBe(APRIL_1_2027 + 20 * DAY);
    await advance(t.stripe, clock.id, APRIL_1_2027 + 8 * DAY);
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('trialing');
    expect(types(await eventsAbout(t.stripe, [sub.id]))).not.toContain(
      'customer.subscription.trial_will_end',
    );
    await advance(t.stripe, clock.id, APRIL_1_2027 + 20 * DAY + 3600);
    const willEnd = (await eventsAbout(t.stripe, [sub.id])).find(
      (e) => e.type === 'customer.subscription.trial_will_end',
    )!;
    expect(willEnd.created).toBe(APRIL_1_2027 + 17 * DAY);
    expect(await t.stripe.subscriptions.retrieve(sub.id)).toMatchObject({ status: 'active' });
  });

  test('a coupon repeating for 3 months, then full price', async () => {
    const coupon = await t.stripe.coupons.create({
      percent_off: 25,
      duration: 'repeating',
      duration_in_months: 3,
    });
    const { customer, clock } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
      discounts: [{ coupon: coupon.id }],
      expand: ['discounts'],
    });
    const discount = sub.discounts[0] as Stripe.Discount;
    expect(discount).toMatchObject({
      object: 'discount',
      source: { coupon: coupon.id, type: 'coupon' },
      subscription: sub.id,
      start: APRIL_1_2027,
      end: JULY_1,
    });
    await advance(t.stripe, clock.id, MAY_1 + 3600);
    await advance(t.stripe, clock.id, JUNE_1 + 3600);
    await advance(t.stripe, clock.id, JULY_1 + 3600);
    const invoices = await invoicesOf(sub.id);
    expect(invoices.map((i) => [i.subtotal, i.total, i.amount_paid])).toEqual([
      [2900, 2175, 2175],
      [2900, 2175, 2175],
      [2900, 2175, 2175],
      [2900, 2900, 2900],
    ]);
    expect(invoices[0]!.total_discount_amounts).toEqual([{ amount: 725, discount: discount.id }]);
    expect(invoices[0]!.lines.data[0]!.discount_amounts).toEqual([{ amount: 725, discount: discount.id }]);
    expect(invoices[3]!.discounts).toEqual([]);
    expect((await t.stripe.subscriptions.retrieve(sub.id)).discounts).toEqual([]);
    expect((await t.stripe.coupons.retrieve(coupon.id)).times_redeemed).toBe(1);
  });

  test('a promotion code for a once coupon applies to the first invoice only', async () => {
    const coupon = await t.stripe.coupons.create({ amount_off: 1000, currency: 'usd', duration: 'once' });
    const promo = await t.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id } });
    const { customer, clock } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
      discounts: [{ promotion_code: promo.id }],
    });
    await advance(t.stripe, clock.id, MAY_1 + 3600);
    expect((await invoicesOf(sub.id)).map((i) => i.amount_paid)).toEqual([1900, 2900]);
    expect((await t.stripe.promotionCodes.retrieve(promo.id)).times_redeemed).toBe(1);
  });
});

describe('test clocks', () => {
  test('advancing more than two intervals of the shortest subscription is refused', async () => {
    const { customer, clock } = await customerOnClock(t.stripe);
    await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: prices.basic.id }] });
    await expect(
      t.stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: JUNE_1 + 1 }),
    ).rejects.toMatchObject({
      statusCode: 400,
      param: 'frozen_time',
      message: expect.stringContaining('two intervals in the future from the shortest subscription'),
    });
    await advance(t.stripe, clock.id, JUNE_1);
    expect((await t.stripe.testHelpers.testClocks.retrieve(clock.id)).frozen_time).toBe(JUNE_1);
  });

  test('a snapshot keeps subscriptions, their pending jobs and invoices (renewal after restore)', async () => {
    const other = await startTestEmulator();
    try {
      const otherPrices = await catalog(other.stripe);
      const { customer, clock } = await customerOnClock(other.stripe);
      const sub = await other.stripe.subscriptions.create({
        customer: customer.id,
        items: [{ price: otherPrices.basic.id }],
      });
      const snapshot = await (
        await fetch(`${other.emulator.url}/_emulator/snapshot`, { method: 'POST' })
      ).json();
      await fetch(`${other.emulator.url}/_emulator/reset`, { method: 'POST' });
      await expect(other.stripe.subscriptions.retrieve(sub.id)).rejects.toMatchObject({ statusCode: 404 });
      await fetch(`${other.emulator.url}/_emulator/restore`, {
        method: 'POST',
        body: JSON.stringify(snapshot),
      });
      await advance(other.stripe, clock.id, MAY_1 + 3600);
      const invoices = (await other.stripe.invoices.list({ subscription: sub.id })).data;
      expect(invoices.map((i) => [i.billing_reason, i.status, i.amount_paid])).toEqual([
        ['subscription_cycle', 'paid', 2900],
        ['subscription_create', 'paid', 2900],
      ]);
    } finally {
      await other.stop();
    }
  });

  test('deleting a clock deletes its subscriptions and invoices', async () => {
    const { customer, clock } = await customerOnClock(t.stripe);
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: prices.basic.id }],
    });
    await t.stripe.testHelpers.testClocks.del(clock.id);
    await expect(t.stripe.subscriptions.retrieve(sub.id)).rejects.toMatchObject({ statusCode: 404 });
    await expect(t.stripe.invoices.retrieve(sub.latest_invoice as string)).rejects.toMatchObject({
      statusCode: 404,
    });
    expect(t.emulator.control.pendingJobs().filter((j) => j.clock === clock.id)).toEqual([]);
  });
});
