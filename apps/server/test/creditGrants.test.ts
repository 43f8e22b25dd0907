import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncInvoices } from '../src/modules/invoices/syncInvoices.ts';
import { advanceBoth, seedCatalog } from './catalogFixture.ts';
import { checkInvariants } from './creditInvariants.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from './harness.ts';

const APP = 'https://app.example.test';
const DAY = 86_400;
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ ALLOWED_REDIRECT_ORIGINS: APP });
  await seedCatalog(t);
  t.enableStripeWebhooks();
});
afterAll(() => t.close());

async function settle() {
  await t.emulator.control.waitForDeliveries();
  await t.processEvents();
  // Events emitted while applying (none expected) and late deliveries.
  await t.emulator.control.waitForDeliveries();
  return t.processEvents();
}
const credits = async (o: TestOrg) =>
  (await t.request('GET', `/v1/orgs/${o.id}/credits`, { token: o.key })).body;
const ledger = async (o: TestOrg) =>
  (await t.request('GET', `/v1/orgs/${o.id}/credits/transactions?limit=100`, { token: o.key })).body.data as {
    kind: string;
    amount: number;
  }[];
async function withCard(name: string) {
  const org = await createTestOrg(t, name);
  const r = await t.request('POST', `/v1/orgs/${org.id}/payment-methods`, {
    token: org.key,
    body: { payment_method_id: 'pm_card_visa' },
  });
  expect(r.status).toBe(201);
  return org;
}
async function subscribe(o: TestOrg, plan: string) {
  const s = await t.request('POST', `/v1/orgs/${o.id}/subscription`, { token: o.key, body: { plan } });
  expect(s.status, JSON.stringify(s.body)).toBe(201);
  return s.body.subscription;
}
async function replayAll() {
  const r = await t.request('POST', '/v1/admin/stripe-events/replay', {
    token: TEST_ADMIN_KEY,
    body: { status: 'applied' },
  });
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  await t.processEvents();
}
async function payOnHostedPage(url: string) {
  await fetch(url);
  return fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      email: 'payer@example.test',
      name: 'Pat Payer',
      card_number: '4242 4242 4242 4242',
      exp: '12/34',
      cvc: '123',
    }).toString(),
  });
}

describe('subscription allocations (through Stripe webhooks)', () => {
  it('a paid subscription invoice grants the plan allocation for the period, once; renewal grants the next', async () => {
    const o = await withCard('Alloc Co');
    const sub = await subscribe(o, 'enterprise');
    await settle();
    let c = await credits(o);
    expect(c.balance).toBe(25_000);
    expect(c.buckets).toEqual([
      { source: 'subscription', balance: 25_000, expires_at: sub.current_period_end },
    ]);

    // Replaying every applied event grants nothing more.
    await replayAll();
    c = await credits(o);
    expect(c.balance).toBe(25_000);
    expect(c.grants.filter((g: { source: string }) => g.source === 'subscription')).toHaveLength(1);

    await t.request('POST', `/v1/orgs/${o.id}/credits/consume`, {
      token: o.key,
      body: { event: 'ai_inference', quantity: 4, idempotency_key: 'use-100' },
    });
    // Renewal: the next period's invoice is paid; what was left of the old period expires.
    const end = new Date(sub.current_period_end).getTime();
    await advanceBoth(t, Math.ceil((end - t.deps.clock.nowMs()) / 1000) + 2 * 3_600);
    await settle();
    c = await credits(o);
    expect(c.balance).toBe(25_000);
    expect(c.buckets).toHaveLength(1);
    expect(new Date(c.buckets[0].expires_at).getTime()).toBeGreaterThan(end);
    const kinds = (await ledger(o)).map((e) => [e.kind, e.amount]);
    expect(kinds).toContainEqual(['expire', -24_900]);
    expect(kinds.filter(([k]) => k === 'grant')).toHaveLength(2);
    await checkInvariants(t.deps.database, o.id);
  });

  it('a paid invoice applied by sync (webhook not yet processed) grants once; the webhook later adds nothing', async () => {
    const o = await withCard('Sync Credits Co');
    await subscribe(o, 'enterprise');
    await syncInvoices(t.deps, o.id);
    expect((await credits(o)).balance).toBe(25_000);
    await settle();
    const c = await credits(o);
    expect(c.balance).toBe(25_000);
    expect(c.grants).toHaveLength(1);
    await checkInvariants(t.deps.database, o.id);
  });

  it('a grant found by sync reaches the alerts hook: a raised balance re-arms the low-balance alert', async () => {
    const o = await withCard('Sync Alerts Co');
    const consume = async (quantity: number, key: string) => {
      const r = await t.request('POST', `/v1/orgs/${o.id}/credits/consume`, {
        token: o.key,
        body: { event: 'api_call_basic', quantity, idempotency_key: key },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    };
    const alerts = async () =>
      (await t.request('GET', `/v1/orgs/${o.id}/credits/alerts`, { token: o.key })).body.data as {
        kind: string;
      }[];
    await consume(1, 'first'); // the free allocation: 100 → 99
    const put = await t.request('PUT', `/v1/orgs/${o.id}/credits/settings`, {
      token: o.admin.jwt,
      body: { low_balance: { threshold: 60 } },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    await consume(50, 'below'); // 99 → 49: one alert, disarmed until the balance rises again
    expect(await alerts()).toHaveLength(1);
    await subscribe(o, 'enterprise');
    await syncInvoices(t.deps, o.id); // the period's 25,000 arrive by sync, not by webhook
    const { balance } = await credits(o);
    expect(balance).toBeGreaterThan(25_000);
    await consume(balance - 10, 'again'); // below 60 again: a second alert
    expect(await alerts()).toHaveLength(2);
  });

  it('a paid mid-period upgrade tops the period up to the new plan allocation', async () => {
    const o = await withCard('Upgrade Credits Co');
    // Use up the trial so the next subscription is paid from day one.
    await subscribe(o, 'basic');
    await t.request('POST', `/v1/orgs/${o.id}/subscription/cancel-now`, { token: TEST_ADMIN_KEY, body: {} });
    await settle();
    // The trial period's allocation (1,000) stays until it expires; with no live subscription
    // the org is on the free plan again, whose monthly 100 comes on first use.
    const trialGrants = (await credits(o)).balance;
    expect(trialGrants).toBe(1_100);
    await subscribe(o, 'basic');
    await settle();
    expect((await credits(o)).balance).toBe(trialGrants + 1_000);
    await advanceBoth(t, 5 * DAY);
    const changed = await t.request('PATCH', `/v1/orgs/${o.id}/subscription`, {
      token: o.key,
      body: { plan: 'professional' },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    await settle();
    const c = await credits(o);
    // basic 1,000 + top-up 4,000 = professional's 5,000 for this period (plus the old trial's).
    expect(c.balance).toBe(trialGrants + 5_000);
    await replayAll();
    expect((await credits(o)).balance).toBe(trialGrants + 5_000);
    await checkInvariants(t.deps.database, o.id);
  });

  it('overage plans consume past zero: recorded as overage and a metered usage row', async () => {
    const o = await withCard('Overage Co');
    await subscribe(o, 'professional'); // trialing: the trial invoice (0) grants 5,000
    await settle();
    expect((await credits(o)).balance).toBe(5_000);
    const r = await t.request('POST', `/v1/orgs/${o.id}/credits/consume`, {
      token: o.key,
      body: { event: 'ai_inference', quantity: 201, idempotency_key: 'over' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.consumption).toMatchObject({ credits: 5_025, overage: 25, balance: 0 });
    const c = await credits(o);
    expect(c).toMatchObject({ balance: 0, overage: 25 });
    const rows = await t.deps.database.query<{ quantity: number; identifier: string; addon_key: string }>(
      'SELECT quantity, identifier, addon_key, meter_event_name FROM metered_usage WHERE org_id = $1',
      [o.id],
    );
    expect(rows).toEqual([
      {
        quantity: 25,
        identifier: `ovg_${r.body.consumption.id}`,
        addon_key: 'credit_overage',
        meter_event_name: 'tollgate_credit_overage',
      },
    ]);
    const again = await t.request('POST', `/v1/orgs/${o.id}/credits/consume`, {
      token: o.key,
      body: { event: 'ai_inference', quantity: 201, idempotency_key: 'over' },
    });
    expect(again.body.consumption).toMatchObject({ overage: 25, replayed: true });
    expect((await credits(o)).overage).toBe(25);
    await checkInvariants(t.deps.database, o.id);
  });
});

describe('credit packs', () => {
  it('a paid pack checkout grants once (session + payment intent events), never expiring; a refund revokes the rest', async () => {
    const o = await createTestOrg(t, 'Pack Co');
    expect((await credits(o)).balance).toBe(100); // free plan
    const res = await t.request('POST', `/v1/orgs/${o.id}/checkout-sessions`, {
      token: o.admin.jwt,
      body: {
        mode: 'payment',
        items: [
          { pack: 'credits_1k', quantity: 2 },
          { pack: 'credits_10k', quantity: 1 },
        ],
        success_url: `${APP}/done`,
        cancel_url: `${APP}/billing`,
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const paid = await payOnHostedPage(res.body.url);
    expect(paid.status).toBeLessThan(400);
    await settle();
    let c = await credits(o);
    expect(c.balance).toBe(100 + 12_000);
    const packs = c.grants.filter((g: { source: string }) => g.source === 'pack');
    expect(
      packs.map((g: { amount: number; expires_at: string | null }) => [g.amount, g.expires_at]).sort(),
    ).toEqual([
      [10_000, null],
      [2_000, null],
    ]);
    await replayAll();
    expect((await credits(o)).balance).toBe(12_100);

    // Packs go first: 2,500 credits come out of the packs.
    const used = await t.request('POST', `/v1/orgs/${o.id}/credits/consume`, {
      token: o.key,
      body: { event: 'ai_inference', quantity: 100, idempotency_key: 'pack-use' },
    });
    expect(used.body.consumption.breakdown.every((b: { source: string }) => b.source === 'pack')).toBe(true);

    const session = await t.deps.stripe.checkout.sessions.retrieve(res.body.session_id);
    const refund = await t.request('POST', `/v1/orgs/${o.id}/payments/${session.payment_intent}/refunds`, {
      token: TEST_ADMIN_KEY,
      body: { idempotency_key: 'refund-pack-0001' },
    });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    await settle();
    c = await credits(o);
    expect(c.balance).toBe(100); // the free allocation is all that is left
    const revokes = (await ledger(o)).filter((e) => e.kind === 'revoke');
    expect(revokes.reduce((s, e) => s + e.amount, 0)).toBe(-(12_000 - 2_500));
    await replayAll();
    expect((await ledger(o)).filter((e) => e.kind === 'revoke')).toHaveLength(revokes.length);
    await checkInvariants(t.deps.database, o.id);
  });
});
