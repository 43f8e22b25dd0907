import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advanceBoth, seedCatalog } from './catalogFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, TEST_WEBHOOK_SECRET, type TestApp } from './harness.ts';

let t: TestApp;
const DAY = 86_400;

beforeAll(async () => {
  t = await startTestApp();
  await seedCatalog(t);
  t.enableStripeWebhooks();
});
afterAll(() => t.close());

const sign = (body: string, secret = TEST_WEBHOOK_SECRET) =>
  Stripe.webhooks.generateTestHeaderString({ payload: body, secret });
const post = (body: string, signature?: string) =>
  t.request('POST', '/v1/webhooks/stripe', {
    raw: body,
    headers: signature ? { 'stripe-signature': signature } : {},
  });
const admin = (method: string, path: string, body?: unknown) =>
  t.request(method, path, { token: TEST_ADMIN_KEY, body });
async function settle() {
  await t.emulator.control.waitForDeliveries();
  return t.processEvents();
}
async function orgWithPlan(name: string, plan = 'enterprise') {
  const org = await createTestOrg(t, name);
  await t.request('POST', `/v1/orgs/${org.id}/payment-methods`, {
    token: org.key,
    body: { payment_method_id: 'pm_card_visa' },
  });
  const s = await t.request('POST', `/v1/orgs/${org.id}/subscription`, { token: org.key, body: { plan } });
  expect(s.status, JSON.stringify(s.body)).toBe(201);
  return org;
}
const subOf = async (o: TestOrg) =>
  (await t.request('GET', `/v1/orgs/${o.id}/subscription`, { token: o.key })).body;
const auditCount = async (o: TestOrg, action: string) =>
  (await t.request('GET', `/v1/orgs/${o.id}/audit-log?action=${action}&limit=100`, { token: o.key })).body
    .data.length;

describe('Stripe webhook endpoint', () => {
  it('refuses a missing or wrong signature with 400 and stores nothing', async () => {
    const body = JSON.stringify({
      id: 'evt_forged000000000000000',
      object: 'event',
      type: 'invoice.paid',
      created: 1,
      livemode: false,
      data: { object: {} },
    });
    expect((await post(body)).status).toBe(400);
    expect((await post(body, sign(body, 'whsec_not_ours_0000000000'))).status).toBe(400);
    expect((await post(`${body} `, sign(body))).status).toBe(400); // body altered after signing
    expect((await admin('GET', '/v1/admin/stripe-events/evt_forged000000000000000')).status).toBe(404);
    const metrics = (await t.request('GET', '/metrics')).text;
    expect(metrics).toMatch(/tollgate_stripe_webhook_rejected_total 3/);
  });

  it('stores a verified event once; a redelivery is acknowledged without reprocessing', async () => {
    const body = JSON.stringify({
      id: 'evt_manual00000000000000001',
      object: 'event',
      type: 'something.we_ignore',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      api_version: '2026-10-28.endive',
      data: { object: { id: 'x_1', object: 'thing' } },
    });
    const first = await post(body, sign(body));
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ received: true, duplicate: false });
    const again = await post(body, sign(body));
    expect(again.body).toEqual({ received: true, duplicate: true });
    await t.processEvents();
    const stored = await admin('GET', '/v1/admin/stripe-events/evt_manual00000000000000001');
    expect(stored.body).toMatchObject({ status: 'ignored', attempts: 1, type: 'something.we_ignore' });
  });
});

describe('applying events', () => {
  it('a subscription made through the API is converged by its events (delivered shuffled and duplicated)', async () => {
    t.emulator.control.injectWebhookFault({ kind: 'reorder', count: 6 });
    t.emulator.control.injectWebhookFault({ kind: 'duplicate', count: 6 });
    const org = await orgWithPlan('Events Co');
    const processed = await settle();
    expect(processed).toBeGreaterThan(5);
    const events = await admin('GET', `/v1/admin/stripe-events?org_id=${org.id}&limit=100`);
    const types = new Set(events.body.data.map((e: { type: string }) => e.type));
    expect(types).toContain('customer.subscription.created');
    expect(types).toContain('invoice.paid');
    expect(events.body.data.every((e: { status: string }) => e.status === 'applied')).toBe(true);
    expect(await subOf(org)).toMatchObject({ status: 'active', plan: 'enterprise', billing_state: 'ok' });
  });

  it('renewal failure → past due with the reason and a grace period → restricted → recovered; effects once', async () => {
    const org = await orgWithPlan('Dunning Co');
    const bad = await t.request('POST', `/v1/orgs/${org.id}/payment-methods`, {
      token: org.key,
      body: { payment_method_id: 'pm_card_chargeCustomerFail', set_default: true },
    });
    expect(bad.status, JSON.stringify(bad.body)).toBe(201);
    await settle();
    const periodEnd = new Date((await subOf(org)).current_period_end).getTime() / 1000;
    await advanceBoth(t, Math.ceil(periodEnd - t.deps.clock.nowMs() / 1000) + 2 * 3_600);
    await settle();

    const pastDue = await subOf(org);
    expect(pastDue.billing_state).toBe('past_due');
    expect(pastDue.status).toBe('past_due');
    expect(pastDue.payment_failure_reason).toBeTruthy();
    const grace = new Date(pastDue.grace_ends_at).getTime();
    expect(Math.round((grace - t.deps.clock.nowMs()) / 1000 / DAY)).toBe(7);
    expect(await auditCount(org, 'billing.payment_failed')).toBe(1);

    // Replaying everything (as an operator would) changes nothing and repeats no effect.
    const replay = await admin('POST', '/v1/admin/stripe-events/replay', { status: 'applied' });
    expect(replay.body.replayed).toBeGreaterThan(0);
    await t.processEvents();
    expect(await auditCount(org, 'billing.payment_failed')).toBe(1);

    // Automatic retries keep failing; after the grace period access is restricted.
    await advanceBoth(t, 8 * DAY);
    await settle();
    expect((await subOf(org)).billing_state).toBe('restricted');

    // A good card, and the next retry pays: recovered.
    const good = (
      await t.request('GET', `/v1/orgs/${org.id}/payment-methods`, { token: org.key })
    ).body.data.find((c: { last4: string }) => c.last4 === '4242');
    await t.request('POST', `/v1/orgs/${org.id}/payment-methods/${good.id}/default`, {
      token: org.key,
      body: {},
    });
    await advanceBoth(t, 2 * DAY);
    await settle();
    const recovered = await subOf(org);
    expect(recovered).toMatchObject({ billing_state: 'ok', status: 'active', payment_failure_reason: null });
    expect(await auditCount(org, 'billing.payment_recovered')).toBe(1);
  });

  it('a dispute is recorded once, however many events announce it', async () => {
    const org = await orgWithPlan('Dispute Co');
    await settle();
    const customer = (await t.request('GET', `/v1/orgs/${org.id}`, { token: org.key })).body
      .stripe_customer_id;
    const pi = (await t.deps.stripe.paymentIntents.list({ customer })).data[0]!;
    const dispute = {
      id: 'dp_test0000000000000001',
      object: 'dispute',
      charge: pi.latest_charge,
      amount: pi.amount,
      reason: 'fraudulent',
      status: 'needs_response',
    };
    for (const id of ['evt_dispute000000000000001', 'evt_dispute000000000000002']) {
      const body = JSON.stringify({
        id,
        object: 'event',
        type: 'charge.dispute.created',
        created: Math.floor(Date.now() / 1000),
        livemode: false,
        data: { object: dispute },
      });
      expect((await post(body, sign(body))).status).toBe(200);
    }
    await t.processEvents();
    expect(await auditCount(org, 'payment.disputed')).toBe(1);
  });

  it('operators see webhook health, and a failing event is retried then dead-lettered', async () => {
    const health = await admin('GET', '/v1/admin/webhook-health');
    expect(health.status).toBe(200);
    expect(health.body.by_status.applied).toBeGreaterThan(0);
    expect(
      (await t.request('GET', '/v1/admin/webhook-health', { token: (await createTestOrg(t)).key })).status,
    ).toBe(403);

    // An event for a subscription Stripe does not know: the handler fails every time.
    const org = await createTestOrg(t, 'Ghost Co');
    await t.request('POST', `/v1/orgs/${org.id}/payment-methods/setup-intents`, { token: org.key, body: {} });
    const customer = (await t.request('GET', `/v1/orgs/${org.id}`, { token: org.key })).body
      .stripe_customer_id;
    const body = JSON.stringify({
      id: 'evt_ghost0000000000000000001',
      object: 'event',
      type: 'customer.subscription.updated',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: { object: { id: 'sub_doesNotExist000000000', object: 'subscription', customer } },
    });
    expect((await post(body, sign(body))).status).toBe(200);
    for (let i = 0; i < t.deps.env.STRIPE_EVENT_MAX_ATTEMPTS; i++) {
      await t.processEvents();
      t.deps.clock.advance(3_700_000);
    }
    const dead = await admin('GET', '/v1/admin/stripe-events/evt_ghost0000000000000000001');
    expect(dead.body).toMatchObject({ status: 'dead', attempts: t.deps.env.STRIPE_EVENT_MAX_ATTEMPTS });
    expect(dead.body.last_error).toMatch(/No such subscription/);
    expect(
      (await admin('GET', '/v1/admin/stripe-events?status=dead')).body.data.map((e: { id: string }) => e.id),
    ).toContain('evt_ghost0000000000000000001');
  });
});
