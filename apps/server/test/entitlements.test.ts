import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creditAccounts } from '../src/db/schema/index.ts';
import { withOrgTx } from '../src/db/tx.ts';
import { pushCatalog } from '../src/modules/catalog/pushCatalog.ts';
import { publishOrgChange } from '../src/modules/live/publishOrgChange.ts';
import { advanceBoth, seedCatalog } from './catalogFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from './harness.ts';
import { testDbKind } from './testDatabase.ts';

/**
 * Two server instances on one database (PGlite shared in-process, or one Postgres): each has its
 * own entitlement cache, and a change made through either must reach both.
 */
let a: TestApp;
let b: TestApp;
let catalog: Awaited<ReturnType<typeof seedCatalog>>;

beforeAll(async () => {
  a = await startTestApp();
  b = await startTestApp({}, { db: a.db, emulator: a.emulator });
  catalog = await seedCatalog(a);
  a.enableStripeWebhooks();
  await Promise.all([a.deps.live?.ready(), b.deps.live?.ready()]);
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

const ent = async (t: TestApp, org: TestOrg, feature: string, query = '') => {
  const r = await t.request('GET', `/v1/orgs/${org.id}/entitlements/${feature}${query}`, { token: org.key });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
};

/** Polls until `check` passes (notifications arrive asynchronously); fails after 5 s. */
async function eventually(check: () => Promise<void>) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Both instances agree (eventually), each answering from its own cache. */
async function bothSee(org: TestOrg, feature: string, expected: Record<string, unknown>, query = '') {
  for (const t of [a, b])
    await eventually(async () => expect(await ent(t, org, feature, query)).toMatchObject(expected));
}

async function settle() {
  await a.emulator.control.waitForDeliveries();
  return a.processEvents();
}

async function subscribe(org: TestOrg, plan: string, card = 'pm_card_visa') {
  const pm = await a.request('POST', `/v1/orgs/${org.id}/payment-methods`, {
    token: org.key,
    body: { payment_method_id: card },
  });
  expect(pm.status, JSON.stringify(pm.body)).toBe(201);
  const s = await a.request('POST', `/v1/orgs/${org.id}/subscription`, { token: org.key, body: { plan } });
  expect(s.status, JSON.stringify(s.body)).toBe(201);
  return s.body;
}

/** What the credit ledger does on every balance change (it is built elsewhere; same contract). */
async function setBalance(org: TestOrg, balance: number) {
  await withOrgTx(a.deps.database, org.id, async (tx) => {
    await tx
      .insert(creditAccounts)
      .values({ orgId: org.id, balance })
      .onConflictDoUpdate({ target: creditAccounts.orgId, set: { balance } });
    await publishOrgChange(tx, org.id, { type: 'credits.updated', data: { balance } });
  });
}

describe('entitlements on the free plan', () => {
  it('lists every catalog feature and usage event with the plan’s answer', async () => {
    const org = await createTestOrg(a);
    const r = await a.request('GET', `/v1/orgs/${org.id}/entitlements`, { token: org.key });
    expect(r.status).toBe(200);
    const byKey = Object.fromEntries(r.body.data.map((e: { feature: string }) => [e.feature, e]));
    expect(Object.keys(byKey).sort()).toEqual(
      [...Object.keys(catalog.features), ...Object.keys(catalog.usageEvents)].sort(),
    );
    expect(byKey.api_access).toMatchObject({
      kind: 'boolean',
      allowed: false,
      reason: 'not_in_plan',
      plan: 'free',
    });
    expect(byKey.projects).toMatchObject({
      kind: 'limit',
      allowed: true,
      reason: 'plan',
      limit: 1,
      usage: 0,
      remaining: 1,
    });
    expect(byKey.api_call_basic).toMatchObject({
      kind: 'usage_event',
      allowed: false,
      reason: 'no_credits',
      cost: 1,
      balance: 0,
    });
    expect(byKey.api_call_basic.billing_state).toBe('ok');
  });

  it('an unknown feature is a 404 naming it; another org’s id is a 404; members may check', async () => {
    const org = await createTestOrg(a);
    const other = await createTestOrg(a);
    const unknown = await a.request('GET', `/v1/orgs/${org.id}/entitlements/teleportation`, {
      token: org.key,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('teleportation');
    const foreign = await a.request('GET', `/v1/orgs/${other.id}/entitlements/api_access`, {
      token: org.key,
    });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.message).not.toContain('api_access');
    const asMember = await a.request('GET', `/v1/orgs/${org.id}/entitlements/sso`, { token: org.member.jwt });
    expect(asMember.body).toMatchObject({ feature: 'sso', allowed: false });
  });
});

describe('limit features', () => {
  it('usage reported by the host is compared with the limit, on every instance', async () => {
    const org = await createTestOrg(a);
    await bothSee(org, 'projects', { allowed: true, usage: 0 }); // both caches warm
    const put = await a.request('PUT', `/v1/orgs/${org.id}/entitlements/projects/usage`, {
      token: org.key,
      body: { usage: 1 },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({
      allowed: false,
      reason: 'limit_reached',
      limit: 1,
      usage: 1,
      remaining: 0,
    });
    // The instance that took the report answers from the new value at once.
    expect(await ent(a, org, 'projects')).toMatchObject({ allowed: false, reason: 'limit_reached' });
    await bothSee(org, 'projects', { allowed: false, reason: 'limit_reached', usage: 1 });

    const down = await b.request('PUT', `/v1/orgs/${org.id}/entitlements/projects/usage`, {
      token: org.key,
      body: { usage: 0 },
    });
    expect(down.body).toMatchObject({ allowed: true, remaining: 1 });
    await bothSee(org, 'projects', { allowed: true, usage: 0 });
    // `quantity`: may the org add two more?
    expect(await ent(a, org, 'projects', '?quantity=2')).toMatchObject({
      allowed: false,
      reason: 'limit_reached',
    });
  });

  it('only limit features take a usage; unknown features are 404', async () => {
    const org = await createTestOrg(a);
    const bool = await a.request('PUT', `/v1/orgs/${org.id}/entitlements/sso/usage`, {
      token: org.key,
      body: { usage: 1 },
    });
    expect(bool.status).toBe(400);
    expect(bool.body.error.details.issues[0].field).toBe('feature');
    const unknown = await a.request('PUT', `/v1/orgs/${org.id}/entitlements/warp_drive/usage`, {
      token: org.key,
      body: { usage: 1 },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('warp_drive');
    const member = await a.request('PUT', `/v1/orgs/${org.id}/entitlements/projects/usage`, {
      token: org.member.jwt,
      body: { usage: 1 },
    });
    expect(member.status).toBe(403);
  });
});

describe('credits', () => {
  it('a usage event is allowed while the balance covers its cost, on every instance', async () => {
    const org = await createTestOrg(a);
    await bothSee(org, 'api_call_premium', { allowed: false, reason: 'no_credits', balance: 0 });
    await setBalance(org, 7);
    await bothSee(org, 'api_call_premium', { allowed: true, reason: 'plan', cost: 5, balance: 7 });
    await bothSee(org, 'api_call_premium', { allowed: false, reason: 'no_credits' }, '?quantity=2');
    await bothSee(org, 'ai_inference', { allowed: false, reason: 'no_credits', cost: 25 });
    await setBalance(org, 4);
    await bothSee(org, 'api_call_premium', { allowed: false, reason: 'no_credits', balance: 4 });
  });

  it('credits that expire stop counting at their expiry, before the expiry job writes it', async () => {
    const org = await createTestOrg(a);
    const inHours = (h: number) => new Date(a.deps.clock.nowMs() + h * 3_600_000).toISOString();
    const grant = (credits: number, expires_at: string, key: string) =>
      a.request('POST', `/v1/admin/orgs/${org.id}/credits/grants`, {
        token: TEST_ADMIN_KEY,
        body: { credits, reason: 'promo', source: 'promotional', expires_at, idempotency_key: key },
      });
    expect((await grant(10, inHours(1), 'soon')).status).toBe(201);
    expect((await grant(3, inHours(2), 'later')).status).toBe(201);
    // Free-plan allocation (100, expiring at the month's end) + 10 + 3, answered from the cache.
    const before = (await ent(a, org, 'api_call_premium')).balance;
    expect(before).toBeGreaterThanOrEqual(13);
    await bothSee(org, 'api_call_premium', { balance: before });
    // The ledger's own view (GET /credits never counts an expired grant, and writes nothing).
    const ledgerBalance = async () =>
      (await a.request('GET', `/v1/orgs/${org.id}/credits`, { token: org.member.jwt })).body.balance;
    const advance = async (seconds: number) => {
      await advanceBoth(a, seconds);
      b.deps.clock.advance(seconds * 1000);
    };
    // Nothing consumed and no expiry job: the cached answers still end when the credits do.
    await advance(3_600 + 1);
    const afterFirst = await ledgerBalance();
    expect(afterFirst).toBeLessThan(before);
    await bothSee(org, 'api_call_premium', { balance: afterFirst });
    await advance(3_600);
    const afterBoth = await ledgerBalance();
    expect(afterBoth).toBeLessThan(afterFirst);
    await bothSee(org, 'api_call_premium', { balance: afterBoth });
  });
});

describe('plans, trials and overage', () => {
  it('a trial grants the plan with reason trial, seen by every instance without waiting for webhooks', async () => {
    const org = await createTestOrg(a);
    await bothSee(org, 'api_access', { allowed: false, reason: 'not_in_plan', plan: 'free' });
    await subscribe(org, 'basic');
    // The instance that took the API call answers from the new subscription at once.
    expect(await ent(a, org, 'api_access')).toMatchObject({ allowed: true, reason: 'trial', plan: 'basic' });
    await bothSee(org, 'api_access', {
      allowed: true,
      reason: 'trial',
      plan: 'basic',
      subscription_status: 'trialing',
    });
    await bothSee(org, 'projects', { allowed: true, limit: 5 });
    await bothSee(org, 'sso', { allowed: false, reason: 'not_in_plan' });
    // Basic has no overage: without credits, usage events are refused.
    await bothSee(org, 'api_call_basic', { allowed: false, reason: 'no_credits' });
  });

  it('an overage plan allows usage events beyond the balance; enterprise limits are unlimited', async () => {
    const pro = await createTestOrg(a);
    await subscribe(pro, 'professional');
    await bothSee(pro, 'ai_inference', {
      allowed: true,
      reason: 'overage',
      balance: 0,
      plan: 'professional',
    });
    await setBalance(pro, 100);
    await bothSee(pro, 'ai_inference', { allowed: true, reason: 'trial', balance: 100 });

    const ent = await createTestOrg(a);
    await subscribe(ent, 'enterprise');
    await settle();
    await bothSee(ent, 'sso', {
      allowed: true,
      reason: 'plan',
      plan: 'enterprise',
      subscription_status: 'active',
    });
    await bothSee(ent, 'seats', { allowed: true, limit: null, remaining: null });
  });

  it('a catalog push changes every org’s answer on every instance', async () => {
    const org = await createTestOrg(a);
    await bothSee(org, 'api_access', { allowed: false, reason: 'not_in_plan' });
    const generous = structuredClone(catalog);
    generous.plans.find((p) => p.key === 'free')!.features.api_access = true;
    await pushCatalog(a.deps, generous);
    try {
      await bothSee(org, 'api_access', { allowed: true, reason: 'plan' });
    } finally {
      await pushCatalog(a.deps, catalog);
    }
    await bothSee(org, 'api_access', { allowed: false, reason: 'not_in_plan' });
  });
});

describe('payment failure', () => {
  it('past due → allowed in grace → restricted when the grace period ends (by time alone)', async () => {
    const org = await createTestOrg(a);
    await subscribe(org, 'enterprise');
    await settle();
    await bothSee(org, 'sso', { allowed: true, reason: 'plan' });
    const bad = await a.request('POST', `/v1/orgs/${org.id}/payment-methods`, {
      token: org.key,
      body: { payment_method_id: 'pm_card_chargeCustomerFail', set_default: true },
    });
    expect(bad.status).toBe(201);
    await settle();
    const sub = (await a.request('GET', `/v1/orgs/${org.id}/subscription`, { token: org.key })).body;
    const periodEnd = new Date(sub.current_period_end).getTime() / 1000;
    const step = Math.ceil(periodEnd - a.deps.clock.nowMs() / 1000) + 2 * 3_600;
    await advanceBoth(a, step);
    b.deps.clock.advance(step * 1000);
    await settle();
    await bothSee(org, 'sso', { allowed: true, reason: 'past_due_grace', billing_state: 'past_due' });
    const graceEndsAt = new Date((await ent(a, org, 'sso')).grace_ends_at).getTime();

    // Nothing is announced when the grace period ends: each cached answer expires at that instant.
    for (const t of [a, b]) t.deps.clock.advance(graceEndsAt - t.deps.clock.nowMs() - 1_000);
    for (const t of [a, b])
      expect(await ent(t, org, 'sso')).toMatchObject({ allowed: true, reason: 'past_due_grace' });
    for (const t of [a, b]) t.deps.clock.advance(2_000);
    for (const t of [a, b]) {
      expect(await ent(t, org, 'sso')).toMatchObject({
        allowed: false,
        reason: 'restricted',
        billing_state: 'restricted',
      });
      expect(await ent(t, org, 'projects')).toMatchObject({ allowed: false, reason: 'restricted' });
    }
  });
});

// PGlite's LISTEN is in-process and cannot drop; on Postgres the connection can.
describe.skipIf(testDbKind() === 'pglite')('a dropped LISTEN connection (Postgres)', () => {
  it('a change missed while it was down is seen soon after (resync clears every cache)', async () => {
    const org = await createTestOrg(a);
    await bothSee(org, 'api_call_basic', { allowed: false, balance: 0 }); // both caches warm
    const killed = await a.deps.database.query(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
        WHERE datname = current_database() AND query = 'LISTEN tollgate_org_changes'`,
    );
    expect(killed.length).toBeGreaterThan(0);
    // Committed before either process is listening again: its notification is lost.
    await setBalance(org, 50);
    // Far sooner than the 60 s safety TTL: entries are not trusted while deaf, and cleared on resync.
    await bothSee(org, 'api_call_basic', { allowed: true, balance: 50 });
  });
});
