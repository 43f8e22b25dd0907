import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystemTx } from '../src/db/tx.ts';
import { afterBalanceChange } from '../src/modules/credit-alerts/afterBalanceChange.ts';
import { seedCatalog } from './catalogFixture.ts';
import { fixtureBalanceChange } from './creditsFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from './harness.ts';

let t: TestApp;
const HOUR = 3_600_000;

beforeAll(async () => {
  t = await startTestApp();
  await seedCatalog(t);
  const ep = await t.request('POST', '/v1/admin/webhook-endpoints', {
    token: TEST_ADMIN_KEY,
    body: { url: 'http://127.0.0.1:9/hooks', events: ['*'] },
  });
  expect(ep.status, JSON.stringify(ep.body)).toBe(201);
});
afterAll(() => t.close());

const settings = (o: TestOrg) => `/v1/orgs/${o.id}/credits/settings`;
const put = (o: TestOrg, body: unknown) => t.request('PUT', settings(o), { token: o.admin.jwt, body });
const alerts = async (o: TestOrg) =>
  (await t.request('GET', `/v1/orgs/${o.id}/credits/alerts`, { token: o.member.jwt })).body.data as {
    kind: string;
    data: Record<string, unknown>;
  }[];
const delivered = async (o: TestOrg, type: string) =>
  (
    await t.request('GET', `/v1/admin/webhook-deliveries?event_type=${type}&limit=100`, {
      token: TEST_ADMIN_KEY,
    })
  ).body.data.filter((d: { payload?: { org_id?: string }; org_id?: string }) =>
    JSON.stringify(d).includes(o.id),
  ) as unknown[];
const change = (o: TestOrg, after: number, at?: Date) =>
  fixtureBalanceChange(t, o.id, after, at ? { at } : {});

describe('credit settings', () => {
  it('defaults, validation naming the field, and a round trip', async () => {
    const org = await createTestOrg(t);
    const empty = await t.request('GET', settings(org), { token: org.admin.jwt });
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({
      low_balance: { threshold: null, percent: null },
      unusual_usage: { enabled: false },
      auto_top_up: { enabled: false, pack: null, in_flight: null },
    });
    const both = await put(org, { low_balance: { threshold: 10, percent: 5 } });
    expect(both.status).toBe(400);
    expect(both.body.error.details.issues[0].field).toBe('low_balance.percent');
    const unknownPack = await put(org, { auto_top_up: { enabled: true, threshold: 10, pack: 'nope' } });
    expect(unknownPack.status).toBe(400);
    expect(unknownPack.body.error.details.issues[0].field).toBe('auto_top_up.pack');
    const noThreshold = await put(org, { auto_top_up: { enabled: true, pack: 'credits_1k' } });
    expect(noThreshold.body.error.details.issues[0].field).toBe('auto_top_up.threshold');
    const ok = await put(org, {
      low_balance: { percent: 10 },
      unusual_usage: { enabled: true, factor: 4 },
      auto_top_up: { enabled: true, threshold: 50, pack: 'credits_1k' },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const back = await t.request('GET', settings(org), { token: org.owner.jwt });
    expect(back.body).toEqual(ok.body);
    expect(back.body).toMatchObject({
      low_balance: { threshold: null, percent: 10 },
      unusual_usage: { enabled: true, factor: 4 },
      auto_top_up: { enabled: true, threshold: 50, pack: 'credits_1k' },
    });
    const member = await t.request('GET', settings(org), { token: org.member.jwt });
    expect(member.status).toBe(403);
  });
});

describe('low-balance alerts', () => {
  it('one alert per crossing, re-armed when the balance rises back, with a webhook', async () => {
    const org = await createTestOrg(t);
    await change(org, 500);
    expect((await put(org, { low_balance: { threshold: 100 } })).status).toBe(200);
    await afterBalanceChange(t.deps, [await change(org, 150)]);
    expect(await alerts(org)).toEqual([]);
    await afterBalanceChange(t.deps, [await change(org, 90)]);
    await afterBalanceChange(t.deps, [await change(org, 40)]);
    let list = await alerts(org);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ kind: 'low_balance', data: { balance: 90, threshold: 100 } });
    expect(await delivered(org, 'credits.low')).toHaveLength(1);
    // A top-up above the threshold re-arms; the next fall alerts again.
    await afterBalanceChange(t.deps, [await change(org, 300)]);
    await afterBalanceChange(t.deps, [await change(org, 99)]);
    list = await alerts(org);
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({ kind: 'low_balance', data: { balance: 99 } });
    expect(await delivered(org, 'credits.low')).toHaveLength(2);
  });

  it('a percentage of the period allocation', async () => {
    const org = await createTestOrg(t);
    await fixtureBalanceChange(t, org.id, 1000, { grant: { source: 'subscription' } });
    await put(org, { low_balance: { percent: 25 } });
    await afterBalanceChange(t.deps, [await change(org, 251)]);
    expect(await alerts(org)).toEqual([]);
    await afterBalanceChange(t.deps, [await change(org, 249)]);
    expect((await alerts(org))[0]).toMatchObject({ data: { threshold: 250, balance: 249 } });
  });

  it('many concurrent reports of the same crossing raise exactly one alert', async () => {
    const org = await createTestOrg(t);
    await change(org, 1000);
    await put(org, { low_balance: { threshold: 100 } });
    await change(org, 10);
    const crossing = { orgId: org.id, before: 120, after: 80, consumed: 40, at: t.deps.clock.now() };
    // As if 32 consumers in several processes each saw their own crossing and reported it.
    await Promise.all(Array.from({ length: 32 }, () => afterBalanceChange(t.deps, [crossing])));
    expect(await alerts(org)).toHaveLength(1);
    expect(await delivered(org, 'credits.low')).toHaveLength(1);
  });

  it('never throws into the ledger, even for an org that does not exist', async () => {
    await expect(
      afterBalanceChange(t.deps, [
        { orgId: 'org_missing000000', before: 5, after: 1, consumed: 4, at: new Date() },
      ]),
    ).resolves.toBeUndefined();
  });
});

describe('unusual usage', () => {
  it('the last hour above k × the trailing hourly average alerts once per episode', async () => {
    const org = await createTestOrg(t);
    await put(org, { unusual_usage: { enabled: true, factor: 3 } });
    const now = t.deps.clock.nowMs();
    await change(org, 100_000, new Date(now - 50 * HOUR));
    // Two days of 10 credits an hour, reported as they happened.
    let balance = 100_000;
    for (let h = 48; h >= 2; h--) {
      balance -= 10;
      await afterBalanceChange(t.deps, [await change(org, balance, new Date(now - h * HOUR))]);
    }
    t.deps.clock.advance(61_000); // evaluations are rate-limited to one a minute per org
    balance -= 25; // 25 in the last hour: under 3 × ~10
    await afterBalanceChange(t.deps, [await change(org, balance)]);
    expect(await alerts(org)).toEqual([]);
    t.deps.clock.advance(61_000);
    balance -= 100; // 125 in the last hour
    await afterBalanceChange(t.deps, [await change(org, balance)]);
    const list = await alerts(org);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ kind: 'unusual_usage', data: { factor: 3 } });
    expect(list[0]!.data.last_hour).toBeGreaterThanOrEqual(125);
    expect(await delivered(org, 'credits.unusual_usage')).toHaveLength(1);
    t.deps.clock.advance(61_000);
    balance -= 100;
    await afterBalanceChange(t.deps, [await change(org, balance)]);
    expect(await alerts(org)).toHaveLength(1);
    // Back to normal re-arms; the next spike alerts again.
    t.deps.clock.advance(3 * HOUR);
    balance -= 5;
    await afterBalanceChange(t.deps, [await change(org, balance)]);
    t.deps.clock.advance(61_000);
    balance -= 300;
    await afterBalanceChange(t.deps, [await change(org, balance)]);
    expect(await alerts(org)).toHaveLength(2);
  });

  it('no alert without 24 hours of history', async () => {
    const org = await createTestOrg(t);
    await put(org, { unusual_usage: { enabled: true, factor: 3 } });
    const now = t.deps.clock.nowMs();
    await afterBalanceChange(t.deps, [
      { orgId: org.id, before: 1000, after: 990, consumed: 10, at: new Date(now - 5 * HOUR) },
    ]);
    t.deps.clock.advance(61_000);
    await afterBalanceChange(t.deps, [
      { orgId: org.id, before: 990, after: 0, consumed: 990, at: t.deps.clock.now() },
    ]);
    expect(await alerts(org)).toEqual([]);
  });
});

async function orgWithCard(pm: string | null) {
  const org = await createTestOrg(t);
  if (pm) {
    const res = await t.request('POST', `/v1/orgs/${org.id}/payment-methods`, {
      token: org.key,
      body: { payment_method_id: pm },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
  await change(org, 500);
  await put(org, { auto_top_up: { enabled: true, threshold: 100, pack: 'credits_1k' } });
  return org;
}
const inFlight = async (o: TestOrg) =>
  (await t.request('GET', settings(o), { token: o.admin.jwt })).body.auto_top_up.in_flight as string | null;
const topUpIntents = async (o: TestOrg) => {
  const customer = (await t.request('GET', `/v1/orgs/${o.id}`, { token: o.key })).body.stripe_customer_id;
  if (!customer) return [];
  const list = await t.deps.stripe.paymentIntents.list({ customer, limit: 100 });
  return list.data.filter((p) => p.metadata.tollgate_auto_top_up === 'true');
};

describe('auto top-up', () => {
  it('a fall below the threshold buys the pack once, off-session, with the checkout metadata', async () => {
    const org = await orgWithCard('pm_card_visa');
    const crossings = [await change(org, 90)];
    for (const b of [80, 70, 60]) crossings.push(await change(org, b));
    await Promise.all(crossings.map((c) => afterBalanceChange(t.deps, [c])));
    expect(await inFlight(org)).toBe('attempt:1');
    await t.runJobs();
    const pis = await topUpIntents(org);
    expect(pis).toHaveLength(1);
    const pi = pis[0]!;
    expect(pi).toMatchObject({ status: 'succeeded', amount: 1000, currency: 'usd' });
    expect(pi.metadata).toMatchObject({
      tollgate_org_id: org.id,
      tollgate_purpose: 'credit_packs',
      tollgate_packs: 'credits_1k:1',
      tollgate_credits: '1000',
      tollgate_auto_top_up: 'true',
    });
    expect(await inFlight(org)).toBe(pi.id);
    expect(await delivered(org, 'credits.auto_top_up_succeeded')).toHaveLength(1);
    // Still below the threshold until the grant lands: no second purchase.
    t.deps.clock.advance(2 * HOUR);
    await afterBalanceChange(t.deps, [await change(org, 50)]);
    await t.runJobs();
    expect(await topUpIntents(org)).toHaveLength(1);
    // The ledger grants the pack (fixture here): the claim is released; the next fall buys again.
    await afterBalanceChange(t.deps, [
      await fixtureBalanceChange(t, org.id, 1050, { grant: { source: 'pack', sourceRef: pi.id } }),
    ]);
    expect(await inFlight(org)).toBeNull();
    await afterBalanceChange(t.deps, [await change(org, 99)]);
    await t.runJobs();
    const second = await topUpIntents(org);
    expect(second).toHaveLength(2);
    // A pack that leaves the balance still below the threshold: the next consumption buys again.
    const pi2 = second.find((p) => p.id !== pi.id)!;
    await change(org, 40);
    await afterBalanceChange(t.deps, [
      await fixtureBalanceChange(t, org.id, 95, { grant: { source: 'pack', sourceRef: pi2.id } }),
    ]);
    expect(await inFlight(org)).toBeNull();
    t.deps.clock.advance(61_000);
    await afterBalanceChange(t.deps, [await change(org, 94)]);
    await t.runJobs();
    expect(await topUpIntents(org)).toHaveLength(3);
  });

  it('a declined card: one auto_top_up_failed alert and webhook, nothing in flight', async () => {
    const org = await orgWithCard('pm_card_chargeCustomerFail');
    await afterBalanceChange(t.deps, [await change(org, 90)]);
    await t.runJobs();
    expect(await inFlight(org)).toBeNull();
    const list = await alerts(org);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ kind: 'auto_top_up_failed', data: { pack: 'credits_1k' } });
    expect(String(list[0]!.data.reason)).toMatch(/declin/);
    expect(await delivered(org, 'credits.auto_top_up_failed')).toHaveLength(1);
    // Staying below does not retry the card on every consumption.
    await afterBalanceChange(t.deps, [await change(org, 80)]);
    await t.runJobs();
    expect(await topUpIntents(org)).toHaveLength(1);
  });

  it('many processes reporting the same crossing at once start one purchase', async () => {
    const org = await orgWithCard('pm_card_visa');
    await change(org, 20);
    const crossing = { orgId: org.id, before: 120, after: 20, consumed: 100, at: t.deps.clock.now() };
    await Promise.all(Array.from({ length: 24 }, () => afterBalanceChange(t.deps, [crossing])));
    await Promise.all([t.runJobs(), t.runJobs()]);
    await t.runJobs();
    expect(await topUpIntents(org)).toHaveLength(1);
  });

  it('no payment method: a failure alert naming it', async () => {
    const org = await orgWithCard(null);
    await afterBalanceChange(t.deps, [await change(org, 10)]);
    await t.runJobs();
    const list = await alerts(org);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      kind: 'auto_top_up_failed',
      data: { reason: 'no_default_payment_method' },
    });
    expect(await inFlight(org)).toBeNull();
  });

  it('a card that needs 3-D Secure off-session fails with authentication_required', async () => {
    const org = await orgWithCard('pm_card_authenticationRequired');
    await afterBalanceChange(t.deps, [await change(org, 10)]);
    await t.runJobs();
    const list = await alerts(org);
    expect(list[0]).toMatchObject({
      kind: 'auto_top_up_failed',
      data: { reason: 'authentication_required' },
    });
  });

  it('settings rows are per org (RLS): another org sees none of it', async () => {
    const a = await orgWithCard(null);
    const b = await createTestOrg(t);
    const res = await t.request('GET', settings(a), { token: b.key });
    expect(res.status).toBe(404);
    const rows = await withSystemTx(t.deps.database, (tx) =>
      tx.execute(sql`SELECT count(*)::int AS n FROM credit_settings WHERE org_id = ${b.id}`),
    );
    expect((rows as unknown as { rows: { n: number }[] }).rows[0]!.n).toBe(0);
  });
});
