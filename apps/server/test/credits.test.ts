import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystemTx } from '../src/db/tx.ts';
import { systemAudit } from '../src/modules/audit/recordAudit.ts';
import { consumeCredits } from '../src/modules/credits/consumeCredits.ts';
import { creditRules } from '../src/modules/credits/creditRules.ts';
import { ensureFreeAllocation } from '../src/modules/credits/ensureFreeAllocation.ts';
import {
  CREDIT_EXPIRY_INTERVAL_MS,
  expireDueCredits,
  scheduleCreditExpiry,
} from '../src/modules/credits/expireCreditsTask.ts';
import { decodeOrgChanges } from '../src/modules/live/publishOrgChange.ts';
import { createOrg } from '../src/modules/orgs/createOrg.ts';
import { checkInvariants } from './creditInvariants.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from './harness.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const DAY = 86_400_000;
const grant = (o: TestOrg, body: Record<string, unknown>) =>
  t.request('POST', `/v1/admin/orgs/${o.id}/credits/grants`, { token: TEST_ADMIN_KEY, body });
const consume = (o: TestOrg, body: Record<string, unknown>, token = o.key) =>
  t.request('POST', `/v1/orgs/${o.id}/credits/consume`, { token, body });
const balanceOf = async (o: TestOrg) =>
  (await t.request('GET', `/v1/orgs/${o.id}/credits`, { token: o.member.jwt })).body;

describe('credits: grants, consumption, idempotency', () => {
  it('a new org on the free plan gets its monthly allocation on first use', async () => {
    const o = await createTestOrg(t);
    const c = await balanceOf(o);
    expect(c.balance).toBe(100);
    expect(c.buckets).toEqual([{ source: 'subscription', balance: 100, expires_at: expect.any(String) }]);
    expect(new Date(c.buckets[0].expires_at).getUTCDate()).toBe(1);
    expect(c.precedence).toBe('purchased_first');
    await checkInvariants(t.deps.database, o.id);
  });

  it('operators grant credits (audited); members and org keys may not', async () => {
    const o = await createTestOrg(t);
    const r = await grant(o, {
      credits: 500,
      reason: 'launch promo',
      source: 'promotional',
      idempotency_key: 'p1',
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ granted: true, balance: 600 });
    const again = await grant(o, {
      credits: 500,
      reason: 'launch promo',
      source: 'promotional',
      idempotency_key: 'p1',
    });
    expect(again.body).toMatchObject({ granted: false, balance: 600 });
    expect(
      (
        await t.request('POST', `/v1/admin/orgs/${o.id}/credits/grants`, {
          token: o.key,
          body: { credits: 1, reason: 'x' },
        })
      ).status,
    ).toBe(403);
    const noReason = await grant(o, { credits: 5 });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.details.issues[0].field).toBe('reason');
    const audit = await t.request('GET', `/v1/orgs/${o.id}/audit-log?action=credits.granted`, {
      token: o.admin.jwt,
    });
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0]).toMatchObject({
      actor_type: 'platform',
      after: { credits: 500, reason: 'launch promo' },
    });
    expect((await grant({ ...o, id: 'org_doesNotExist000000' }, { credits: 1, reason: 'x' })).status).toBe(
      404,
    );
  });

  it('consumes by precedence: packs, then promotional/manual, then subscription', async () => {
    const o = await createTestOrg(t);
    await grant(o, { credits: 30, reason: 'goodwill', source: 'manual' });
    const r = await consume(o, {
      event: 'api_call_premium',
      quantity: 10,
      idempotency_key: 'k1',
      metadata: { route: '/x' },
    });
    expect(r.status).toBe(200);
    expect(r.body.consumption).toMatchObject({
      event: 'api_call_premium',
      quantity: 10,
      credits: 50,
      overage: 0,
      balance: 80,
      replayed: false,
    });
    // Exactly the documented fields (the route serializes with plain JSON.stringify).
    expect(Object.keys(r.body.consumption).sort()).toEqual(
      [
        'balance',
        'breakdown',
        'created_at',
        'credits',
        'event',
        'id',
        'overage',
        'quantity',
        'replayed',
      ].sort(),
    );
    expect(
      r.body.consumption.breakdown.map((b: { source: string; credits: number }) => [b.source, b.credits]),
    ).toEqual([
      ['manual', 30],
      ['subscription', 20],
    ]);
    // Replay: same key, same body.
    const replay = await consume(o, {
      event: 'api_call_premium',
      quantity: 10,
      idempotency_key: 'k1',
      metadata: { route: '/x' },
    });
    expect(replay.status).toBe(200);
    expect(replay.body.consumption).toEqual({ ...r.body.consumption, replayed: true });
    // Same key, different body.
    const conflict = await consume(o, { event: 'api_call_premium', quantity: 11, idempotency_key: 'k1' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('idempotency_conflict');
    expect((await balanceOf(o)).balance).toBe(80);
    await checkInvariants(t.deps.database, o.id);
  });

  it('refuses a short balance with 402 and writes nothing; the same key succeeds after a top-up', async () => {
    const o = await createTestOrg(t);
    expect((await balanceOf(o)).balance).toBe(100);
    const before = (await t.request('GET', `/v1/orgs/${o.id}/credits/transactions`, { token: o.key })).body
      .data.length;
    const r = await consume(o, { event: 'ai_inference', quantity: 5, idempotency_key: 'big' });
    expect(r.status).toBe(402);
    expect(r.body.error.code).toBe('insufficient_credits');
    expect(r.body.error.details).toMatchObject({ balance: 100, required: 125 });
    const after = (await t.request('GET', `/v1/orgs/${o.id}/credits/transactions`, { token: o.key })).body
      .data.length;
    expect(after).toBe(before);
    await grant(o, { credits: 25, reason: 'top-up' });
    const ok = await consume(o, { event: 'ai_inference', quantity: 5, idempotency_key: 'big' });
    expect(ok.status).toBe(200);
    expect(ok.body.consumption.balance).toBe(0);
    await checkInvariants(t.deps.database, o.id);
  });

  it('validates the body and who may consume', async () => {
    const o = await createTestOrg(t);
    const unknown = await consume(o, { event: 'teleport', idempotency_key: 'a' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details.issues[0].field).toBe('event');
    expect((await consume(o, { event: 'api_call_basic', quantity: 0, idempotency_key: 'a' })).status).toBe(
      400,
    );
    expect((await consume(o, { event: 'api_call_basic', idempotency_key: '' })).status).toBe(400);
    expect((await consume(o, { event: 'api_call_basic', idempotency_key: 'm' }, o.member.jwt)).status).toBe(
      403,
    );
    expect((await consume(o, { event: 'api_call_basic', idempotency_key: 'm' }, o.admin.jwt)).status).toBe(
      200,
    );
    const other = await createTestOrg(t);
    expect((await consume(other, { event: 'api_call_basic', idempotency_key: 'x' }, o.key)).status).toBe(404);
  });

  it('the batch form is atomic and names the failing item', async () => {
    const o = await createTestOrg(t);
    const first = await consume(o, { event: 'api_call_basic', quantity: 3, idempotency_key: 'b0' });
    expect(first.status).toBe(200);
    const items = [
      { event: 'api_call_basic', quantity: 3, idempotency_key: 'b0' },
      { event: 'storage_gb_month', quantity: 5, idempotency_key: 'b1' },
      { event: 'ai_inference', quantity: 2, idempotency_key: 'b2' },
    ];
    const short = await t.request('POST', `/v1/orgs/${o.id}/credits/consume/batch`, {
      token: o.key,
      body: { items },
    });
    expect(short.status).toBe(402);
    expect(short.body.error.details).toMatchObject({ index: 2, balance: 97, required: 100 });
    expect((await balanceOf(o)).balance).toBe(97);
    const fits = await t.request('POST', `/v1/orgs/${o.id}/credits/consume/batch`, {
      token: o.key,
      body: { items: items.slice(0, 2) },
    });
    expect(fits.status).toBe(200);
    expect(
      fits.body.consumptions.map((c: { replayed: boolean; balance: number }) => [c.replayed, c.balance]),
    ).toEqual([
      [true, 97],
      [false, 47],
    ]);
    expect(fits.body.consumptions[0].id).toBe(first.body.consumption.id);
    const conflict = await t.request('POST', `/v1/orgs/${o.id}/credits/consume/batch`, {
      token: o.key,
      body: {
        items: [
          { event: 'api_call_basic', idempotency_key: 'c1' },
          { event: 'api_call_premium', idempotency_key: 'c1' },
        ],
      },
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.details.index).toBe(1);
    expect((await balanceOf(o)).balance).toBe(47);
    const unknown = await t.request('POST', `/v1/orgs/${o.id}/credits/consume/batch`, {
      token: o.key,
      body: {
        items: [
          { event: 'api_call_basic', idempotency_key: 'u0' },
          { event: 'nope', idempotency_key: 'u1' },
        ],
      },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details.issues[0].field).toBe('items.1.event');
    await checkInvariants(t.deps.database, o.id);
  });

  it('expiring grants are never consumed after expiry; the job writes expire entries', async () => {
    const o = await createTestOrg(t);
    const soon = new Date(t.deps.clock.nowMs() + 2 * DAY).toISOString();
    await grant(o, { credits: 40, reason: 'promo', source: 'promotional', expires_at: soon });
    expect((await balanceOf(o)).balance).toBe(140);
    t.deps.clock.advance(3 * DAY);
    // Reads already leave it out; the job writes the entry.
    const c = await balanceOf(o);
    expect(c.grants.find((g: { source: string }) => g.source === 'promotional').remaining).toBe(0);
    // The scheduled job (as the worker runs it) writes the entry.
    await scheduleCreditExpiry(t.deps);
    t.deps.clock.advance(CREDIT_EXPIRY_INTERVAL_MS);
    expect(await t.runJobs()).toBeGreaterThanOrEqual(1);
    expect(await expireDueCredits(t.deps)).toBe(0); // nothing left to expire
    const tx = (await t.request('GET', `/v1/orgs/${o.id}/credits/transactions`, { token: o.key })).body.data;
    expect(tx[0]).toMatchObject({ kind: 'expire', amount: -40 });
    await checkInvariants(t.deps.database, o.id);
  });

  it("pages the ledger newest first by cursor; another org's cursor is refused", async () => {
    const o = await createTestOrg(t);
    for (let i = 0; i < 5; i++) await consume(o, { event: 'api_call_basic', idempotency_key: `p${i}` });
    const page1 = await t.request('GET', `/v1/orgs/${o.id}/credits/transactions?limit=3`, { token: o.key });
    expect(page1.body.has_more).toBe(true);
    expect(page1.body.data.map((e: { balance_after: number }) => e.balance_after)).toEqual([95, 96, 97]);
    const page2 = await t.request(
      'GET',
      `/v1/orgs/${o.id}/credits/transactions?limit=3&starting_after=${page1.body.data[2].id}`,
      { token: o.key },
    );
    expect(
      page2.body.data.map((e: { kind: string; balance_after: number }) => [e.kind, e.balance_after]),
    ).toEqual([
      ['consume', 98],
      ['consume', 99],
      ['grant', 100],
    ]);
    expect(page2.body.has_more).toBe(false);
    const other = await createTestOrg(t);
    const foreign = await t.request(
      'GET',
      `/v1/orgs/${other.id}/credits/transactions?starting_after=${page1.body.data[0].id}`,
      { token: other.key },
    );
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.details.issues[0].field).toBe('starting_after');
  });
});

describe('credits: live changes', () => {
  it('every balance change publishes credits.updated with the new balance, once per change', async () => {
    const o = await createTestOrg(t);
    const seen: { type: string; data: unknown }[] = [];
    const off = t.deps.live!.subscribe(o.id, (m) => seen.push({ type: m.type, data: m.data }));
    await t.deps.live!.ready();
    await consume(o, { event: 'api_call_premium', idempotency_key: 'live-1' }); // free 100, then -5
    await consume(o, { event: 'api_call_premium', idempotency_key: 'live-1' }); // replay: no change
    await consume(o, { event: 'ai_inference', quantity: 10, idempotency_key: 'live-2' }); // 402: no change
    await expect.poll(() => seen.length).toBe(2);
    expect(seen).toEqual([
      { type: 'credits.updated', data: { balance: 100 } },
      { type: 'credits.updated', data: { balance: 95 } },
    ]);
    off();
  });

  it('one flush over many orgs announces each org once, in notifications under the NOTIFY limit', async () => {
    // 80 orgs consuming in the same turn of the event loop share one group-commit flush, whose
    // changes travel as JSON arrays (more than one: 80 messages pass the 7,500-byte cap).
    const orgs = await Promise.all(
      Array.from({ length: 80 }, (_, i) => createOrg(t.deps, systemAudit(), { name: `Flush ${i}` })),
    );
    const ids = new Set(orgs.map((o) => o.id));
    const seen = new Map<string, { id: string; balance: unknown }[]>();
    const off = t.deps.live!.subscribeAll((m) => {
      if (!ids.has(m.org_id)) return;
      seen.set(m.org_id, [...(seen.get(m.org_id) ?? []), { id: m.id, balance: m.data }]);
    });
    await t.deps.live!.ready();
    // First use grants the free allocation (its own change: balance 100), then the flush.
    for (const o of orgs) await ensureFreeAllocation(t.deps, o.id, await creditRules(t.deps));
    await Promise.all(
      orgs.map((o, i) =>
        consumeCredits(
          t.deps,
          o.id,
          [{ event: 'api_call_basic', quantity: 1 + (i % 3), idempotencyKey: 'f' }],
          {
            batch: false,
          },
        ),
      ),
    );
    await expect.poll(() => [...seen.values()].filter((v) => v.length === 2).length).toBe(80);
    orgs.forEach((o, i) => {
      expect(seen.get(o.id)!.map((m) => m.balance)).toEqual([{ balance: 100 }, { balance: 99 - (i % 3) }]);
    });
    const messageIds = [...seen.values()].flatMap((v) => v.map((m) => m.id));
    expect(new Set(messageIds).size).toBe(160);
    // All 80 consumptions were announced by the one flush (a flush that failed — say, on a
    // notification over the limit — is retried request by request, each with its own id base).
    const flushBases = new Set([...seen.values()].map((v) => v[1]!.id.replace(/_\d+$/, '')));
    expect(flushBases.size).toBe(1);
    off();
  });

  it('a notification carrying an array of changes reaches each org; malformed entries are dropped', () => {
    const good = {
      id: 'chg_a',
      org_id: 'org_1',
      type: 'credits.updated',
      object_id: null,
      data: { balance: 1 },
    };
    expect(decodeOrgChanges(JSON.stringify(good))).toEqual([good]);
    expect(
      decodeOrgChanges(JSON.stringify([good, { ...good, id: 'chg_b', org_id: 'org_2' }, { nope: 1 }, 7])),
    ).toEqual([good, { ...good, id: 'chg_b', org_id: 'org_2' }]);
    expect(decodeOrgChanges('not json')).toEqual([]);
    expect(decodeOrgChanges(JSON.stringify({ ...good, type: 'bad type' }))).toEqual([]);
  });
});

describe('credits: invariants over the whole database', () => {
  it('hold for every org touched by this file', async () => {
    const orgs = await withSystemTx(t.deps.database, (tx) =>
      tx.execute('SELECT org_id FROM credit_accounts' as never),
    );
    for (const row of (orgs as unknown as { rows: { org_id: string }[] }).rows)
      await checkInvariants(t.deps.database, row.org_id);
  });
});
