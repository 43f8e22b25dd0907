import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntryFor } from './auditTrail.ts';
import { seedCatalog } from './catalogFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from './harness.ts';

let t: TestApp;
let buyer: TestOrg;
let declined: TestOrg;
let other: TestOrg;

interface PaymentView {
  id: string;
  status: string;
  amount_cents: number;
  amount_refunded_cents: number;
  card_brand: string | null;
  card_last4: string | null;
  invoice_id: string | null;
  failure_reason: string | null;
  paid_at: string | null;
  refunded_at: string | null;
  created_at: string;
}

async function subscribeWith(o: TestOrg, pm: string) {
  const card = await t.request('POST', `/v1/orgs/${o.id}/payment-methods`, {
    token: o.key,
    body: { payment_method_id: pm },
  });
  expect(card.status, JSON.stringify(card.body)).toBe(201);
  return t.request('POST', `/v1/orgs/${o.id}/subscription`, { token: o.key, body: { plan: 'enterprise' } });
}

beforeAll(async () => {
  t = await startTestApp();
  await seedCatalog(t);
  buyer = await createTestOrg(t, 'Buyer Co');
  declined = await createTestOrg(t, 'Declined Co');
  other = await createTestOrg(t, 'Other Co');
  expect((await subscribeWith(buyer, 'pm_card_mastercard')).status).toBe(201);
  expect((await subscribeWith(other, 'pm_card_visa')).status).toBe(201);
  const failed = await subscribeWith(declined, 'pm_card_chargeCustomerFail');
  expect(failed.status).toBe(402);
});
afterAll(() => t.close());

const paymentsOf = (o: TestOrg, query = '') => `/v1/orgs/${o.id}/payments${query}`;
const refundPath = (o: TestOrg, payment: string) => `/v1/orgs/${o.id}/payments/${payment}/refunds`;
async function onlyPayment(o: TestOrg): Promise<PaymentView> {
  const res = await t.request('GET', paymentsOf(o, '?refresh=true'), { token: o.member.jwt });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.data).toHaveLength(1);
  return res.body.data[0];
}

describe('payment history', () => {
  it('a subscription payment: succeeded, card brand and last4, its invoice, paid_at', async () => {
    const res = await t.request('GET', paymentsOf(buyer), { token: buyer.member.jwt });
    expect(res.status).toBe(200);
    expect(res.body.total_count).toBe(1);
    const p = res.body.data[0] as PaymentView;
    const invoice = (await t.request('GET', `/v1/orgs/${buyer.id}/invoices`, { token: buyer.key })).body
      .data[0];
    expect(p).toMatchObject({
      status: 'succeeded',
      amount_cents: 19_900,
      amount_refunded_cents: 0,
      currency: 'usd',
      card_brand: 'mastercard',
      card_last4: '4444',
      invoice_id: invoice.id,
      invoice_number: invoice.number,
      failure_reason: null,
      refunded_at: null,
    });
    const pi = await t.deps.stripe.paymentIntents.retrieve(p.id);
    expect(pi.status).toBe('succeeded');
    expect(p).toMatchObject({
      payment_intent_id: pi.id,
      charge_id: pi.latest_charge,
      customer_id: pi.customer,
    });
    expect(p.paid_at).not.toBeNull();
  });

  it('a declined subscription payment shows as failed with the reason', async () => {
    const p = await onlyPayment(declined);
    expect(p.status).toBe('failed');
    expect(p.amount_cents).toBe(19_900);
    expect(p.card_last4).toBe('0341');
    const pi = await t.deps.stripe.paymentIntents.retrieve(p.id, { expand: ['latest_charge'] });
    const charge = pi.latest_charge as Stripe.Charge;
    expect(charge.status).toBe('failed');
    expect(p.failure_reason).toContain(charge.failure_message!);
    expect(p.failure_reason).toMatch(/declined/i);
    expect(p.paid_at).toBeNull();
  });
});

describe('refunds (platform operators)', () => {
  let payment: PaymentView;
  beforeAll(async () => {
    payment = await onlyPayment(buyer);
  });

  it('org owners and their keys may not refund: 403; another org path: 404', async () => {
    for (const token of [buyer.key, buyer.owner.jwt]) {
      const res = await t.request('POST', refundPath(buyer, payment.id), {
        token,
        body: { amount: 100, idempotency_key: 'refund-forbidden-1' },
      });
      expect(res.status).toBe(403);
    }
    const cross = await t.request('POST', refundPath(other, payment.id), {
      token: TEST_ADMIN_KEY,
      body: { amount: 100, idempotency_key: 'refund-cross-org-1' },
    });
    expect(cross.status).toBe(404);
    const pi = await t.deps.stripe.paymentIntents.retrieve(payment.id, { expand: ['latest_charge'] });
    expect((pi.latest_charge as Stripe.Charge).amount_refunded).toBe(0);
  });

  it('partial refund, replay, over-refund refused, then the rest: statuses follow', async () => {
    const partial = await t.request('POST', refundPath(buyer, payment.id), {
      token: TEST_ADMIN_KEY,
      body: { amount: 5_000, reason: 'requested_by_customer', idempotency_key: 'refund-ticket-881' },
    });
    expect(partial.status, JSON.stringify(partial.body)).toBe(201);
    expect(partial.body.refund).toMatchObject({ amount_cents: 5_000, currency: 'usd', status: 'succeeded' });
    expect(partial.body.payment).toMatchObject({
      status: 'partially_refunded',
      amount_refunded_cents: 5_000,
    });
    expect(partial.body.payment.refunded_at).not.toBeNull();
    const audit = await auditEntryFor(t, partial, 'payment.refunded');
    expect(audit).toMatchObject({ org_id: buyer.id, target_id: payment.id, actor_type: 'platform' });

    // The same request again (a timeout, a double click): the same refund, nothing more refunded.
    const replay = await t.request('POST', refundPath(buyer, payment.id), {
      token: TEST_ADMIN_KEY,
      body: { amount: 5_000, reason: 'requested_by_customer', idempotency_key: 'refund-ticket-881' },
    });
    expect(replay.status).toBe(201);
    expect(replay.body.refund.id).toBe(partial.body.refund.id);
    const stripeRefunds = await t.deps.stripe.refunds.list({ payment_intent: payment.id });
    expect(stripeRefunds.data.map((r) => r.amount)).toEqual([5_000]);

    const over = await t.request('POST', refundPath(buyer, payment.id), {
      token: TEST_ADMIN_KEY,
      body: { amount: 15_000, idempotency_key: 'refund-ticket-882' },
    });
    expect(over.status).toBe(400);
    expect(over.body.error.details.issues[0].field).toBe('amount');
    expect(over.body.error.message).toContain('$149.00 remains');

    const rest = await t.request('POST', refundPath(buyer, payment.id), {
      token: TEST_ADMIN_KEY,
      body: { idempotency_key: 'refund-ticket-883' },
    });
    expect(rest.status, JSON.stringify(rest.body)).toBe(201);
    expect(rest.body.refund.amount_cents).toBe(14_900);
    expect(rest.body.payment).toMatchObject({ status: 'refunded', amount_refunded_cents: 19_900 });

    const listed = await onlyPayment(buyer);
    expect(listed).toMatchObject({ status: 'refunded', amount_refunded_cents: 19_900 });
    expect(listed.refunded_at).not.toBeNull();
    const charge = (await t.deps.stripe.paymentIntents.retrieve(payment.id, { expand: ['latest_charge'] }))
      .latest_charge as Stripe.Charge;
    expect(charge.amount_refunded).toBe(19_900);
    const rows = await t.deps.database.query<{ id: string; amount_cents: number; created_by: string }>(
      'SELECT id, amount_cents, created_by FROM refunds WHERE payment_id = $1 ORDER BY amount_cents',
      [payment.id],
    );
    expect(rows.map((r) => r.amount_cents)).toEqual([5_000, 14_900]);
    expect(rows.every((r) => r.created_by.startsWith('platform:'))).toBe(true);

    const again = await t.request('POST', refundPath(buyer, payment.id), {
      token: TEST_ADMIN_KEY,
      body: { idempotency_key: 'refund-ticket-884' },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/already fully refunded/);
  });

  it('a failed payment cannot be refunded', async () => {
    const p = await onlyPayment(declined);
    const res = await t.request('POST', refundPath(declined, p.id), {
      token: TEST_ADMIN_KEY,
      body: { idempotency_key: 'refund-failed-1' },
    });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/succeeded/);
  });
});

describe('pagination', () => {
  let all: PaymentView[];
  beforeAll(async () => {
    const customer = (await t.request('GET', `/v1/orgs/${other.id}`, { token: other.key })).body
      .stripe_customer_id;
    for (let i = 1; i <= 6; i++) {
      await t.deps.stripe.paymentIntents.create({
        customer,
        amount: 1_000 + i,
        currency: 'usd',
        description: `Credit pack ${i}`,
        payment_method: 'pm_card_visa',
        confirm: true,
        off_session: true,
      });
    }
    const res = await t.request('GET', paymentsOf(other, '?refresh=true&limit=100'), { token: other.key });
    all = res.body.data;
    expect(all).toHaveLength(7);
    expect(res.body.total_count).toBe(7);
    expect(new Set(all.map((p) => p.id)).size).toBe(7);
    const times = all.map((p) => Date.parse(p.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('by offset: pages of 3 cover everything once, with total_count', async () => {
    const pages: PaymentView[][] = [];
    for (const offset of [0, 3, 6]) {
      const res = await t.request('GET', paymentsOf(other, `?limit=3&offset=${offset}`), {
        token: other.key,
      });
      expect(res.status).toBe(200);
      expect(res.body.total_count).toBe(7);
      expect(res.body.has_more).toBe(offset < 6);
      pages.push(res.body.data);
    }
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat().map((p) => p.id)).toEqual(all.map((p) => p.id));
  });

  it('by cursor: starting_after the last id walks the same order; bad cursors are 400', async () => {
    const seen: PaymentView[] = [];
    let cursor: string | undefined;
    for (;;) {
      const res = await t.request(
        'GET',
        paymentsOf(other, `?limit=3${cursor ? `&starting_after=${cursor}` : ''}`),
        {
          token: other.key,
        },
      );
      seen.push(...res.body.data);
      if (!res.body.has_more) break;
      cursor = res.body.data.at(-1).id;
    }
    expect(seen.map((p) => p.id)).toEqual(all.map((p) => p.id));
    const foreign = (await onlyPayment(buyer)).id;
    const bad = await t.request('GET', paymentsOf(other, `?starting_after=${foreign}`), { token: other.key });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].field).toBe('starting_after');
    const both = await t.request('GET', paymentsOf(other, `?offset=3&starting_after=${all[0]!.id}`), {
      token: other.key,
    });
    expect(both.status).toBe(400);
  });

  it('one-off payments show their description and card; the subscription payment links its invoice', async () => {
    const oneOff = all.filter((p) => p.invoice_id === null);
    expect(oneOff).toHaveLength(6);
    expect(
      oneOff.every((p) => p.status === 'succeeded' && p.card_brand === 'visa' && p.card_last4 === '4242'),
    ).toBe(true);
    expect(all.filter((p) => p.invoice_id !== null).map((p) => p.amount_cents)).toEqual([19_900]);
  });
});
