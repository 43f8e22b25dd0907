import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../src/db/client.ts';
import { withOrgTx } from '../src/db/tx.ts';
import { grantCredits } from '../src/modules/credits/ledger.ts';
import { checkInvariants } from './creditInvariants.ts';
import { createTestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from './harness.ts';
import { testDbKind } from './testDatabase.ts';

const DAY = 86_400_000;
let t: TestApp;
/** On Postgres: a second server process's worth of app (own pool, own consume queue), same database. */
let t2: TestApp | null = null;

beforeAll(async () => {
  t = await startTestApp();
  if (testDbKind() === 'postgres') {
    const database = await createDatabase({ url: t.db.url!, poolSize: 10 });
    t2 = await startTestApp(
      {},
      { emulator: t.emulator, db: { database, url: t.db.url, dispose: () => database.close() } },
    );
  }
});
afterAll(async () => {
  await t2?.close();
  await t2?.db.dispose();
  await t.close();
});

describe('concurrent consumption', () => {
  it('64 clients × 1 credit against 1,000 split across buckets: exactly 1,000 succeed, taken in precedence order', async () => {
    const o = await createTestOrg(t);
    const now = t.deps.clock.now();
    // 100 (free plan allocation, subscription bucket) + 400 pack + 300 promotional (expiring) + 200 manual.
    expect((await t.request('GET', `/v1/orgs/${o.id}/credits`, { token: o.key })).body.balance).toBe(100);
    await withOrgTx(t.deps.database, o.id, (tx) =>
      grantCredits(
        tx,
        { orgId: o.id, source: 'pack', amount: 400, expiresAt: null, causeKey: `test.pack:${o.id}` },
        now,
      ),
    );
    const grant = (body: object) =>
      t.request('POST', `/v1/admin/orgs/${o.id}/credits/grants`, { token: TEST_ADMIN_KEY, body });
    await grant({
      credits: 300,
      reason: 'promo',
      source: 'promotional',
      expires_at: new Date(now.getTime() + 10 * DAY).toISOString(),
    });
    await grant({ credits: 200, reason: 'goodwill', source: 'manual' });
    const start = await t.request('GET', `/v1/orgs/${o.id}/credits`, { token: o.key });
    expect(start.body.balance).toBe(1_000);

    const statuses = new Map<number, number>();
    let n = 0;
    const client = async (c: number) => {
      const app = t2 && c % 2 ? t2 : t;
      for (;;) {
        const r = await app.request('POST', `/v1/orgs/${o.id}/credits/consume`, {
          token: o.key,
          body: { event: 'api_call_basic', idempotency_key: `c${c}-${n++}` },
        });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status !== 200) {
          expect(r.status).toBe(402);
          expect(r.body.error.details).toEqual({ balance: 0, required: 1 });
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: 64 }, (_, c) => client(c)));
    expect(Object.fromEntries(statuses)).toEqual({ 200: 1_000, 402: 64 });

    const end = await t.request('GET', `/v1/orgs/${o.id}/credits`, { token: o.key });
    expect(end.body.balance).toBe(0);
    // Precedence: every pack credit went before any promotional one, those before manual, then subscription.
    const rows = await t.deps.database.query<{ source: string; balance_after: number }>(
      `SELECT g.source, l.balance_after FROM credit_ledger l JOIN credit_grants g ON g.id = l.grant_id
        WHERE l.org_id = $1 AND l.kind = 'consume' ORDER BY l.id`,
      [o.id],
    );
    expect(rows).toHaveLength(1_000);
    const runs: [string, number][] = [];
    for (const r of rows) {
      const last = runs.at(-1);
      if (last?.[0] === r.source) last[1]++;
      else runs.push([r.source, 1]);
    }
    expect(runs).toEqual([
      ['pack', 400],
      ['promotional', 300],
      ['manual', 200],
      ['subscription', 100],
    ]);
    expect(rows.map((r) => r.balance_after)).toEqual(Array.from({ length: 1_000 }, (_, i) => 999 - i));
    await checkInvariants(t.deps.database, o.id);
  });

  it('replays of one key racing each other consume once', async () => {
    const o = await createTestOrg(t);
    const results = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        (t2 && i % 2 ? t2 : t).request('POST', `/v1/orgs/${o.id}/credits/consume`, {
          token: o.key,
          body: { event: 'api_call_premium', quantity: 2, idempotency_key: 'same' },
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(32).fill(200));
    expect(new Set(results.map((r) => r.body.consumption.id)).size).toBe(1);
    expect(results.filter((r) => !r.body.consumption.replayed)).toHaveLength(1);
    expect((await t.request('GET', `/v1/orgs/${o.id}/credits`, { token: o.key })).body.balance).toBe(90);
    await checkInvariants(t.deps.database, o.id);
  });

  it('many orgs at once: each request is decided on its own', async () => {
    const orgs = await Promise.all(Array.from({ length: 12 }, () => createTestOrg(t)));
    const results = await Promise.all(
      orgs.flatMap((o, k) =>
        Array.from({ length: 6 }, (_, i) =>
          (t2 && i % 2 ? t2 : t).request('POST', `/v1/orgs/${o.id}/credits/consume`, {
            token: o.key,
            // 6 × 25 = 150 > 100: exactly 4 succeed per org (orgs 0-5), or 6 × 10 all fit (orgs 6-11).
            body: { event: k < 6 ? 'ai_inference' : 'storage_gb_month', idempotency_key: `k${i}` },
          }),
        ),
      ),
    );
    for (let k = 0; k < orgs.length; k++) {
      const mine = results.slice(k * 6, k * 6 + 6).map((r) => r.status);
      expect(mine.filter((s) => s === 200)).toHaveLength(k < 6 ? 4 : 6);
      expect(mine.filter((s) => s === 402)).toHaveLength(k < 6 ? 2 : 0);
      await checkInvariants(t.deps.database, orgs[k]!.id);
    }
  });
});
