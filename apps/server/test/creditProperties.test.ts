import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOrgTx } from '../src/db/tx.ts';
import { systemAudit } from '../src/modules/audit/recordAudit.ts';
import { requestHash } from '../src/modules/credits/consumeCredits.ts';
import { runConsume } from '../src/modules/credits/consumeQueue.ts';
import {
  expireOrgCredits,
  type GrantSource,
  grantCredits,
  newConsumptionId,
  revokeGrant,
} from '../src/modules/credits/ledger.ts';
import { createOrg } from '../src/modules/orgs/createOrg.ts';
import { checkInvariants } from './creditInvariants.ts';
import { startTestApp, type TestApp } from './harness.ts';

/**
 * Random sequences of grants, consumptions (single and atomic batches, with replays and
 * conflicting reuse of keys), clock advances, expiry runs and revocations, applied to the real
 * ledger functions and to a simple reference model. After every step the ledger's invariants
 * hold and the balance, each refusal and each consumption's breakdown equal the model's.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const DAY = 86_400_000;
const COST: Record<string, number> = { api_call_basic: 1, api_call_premium: 5, storage_gb_month: 10 };
const RANK: Record<GrantSource, number> = { pack: 0, promotional: 1, manual: 1, subscription: 2 };

type Cmd =
  | { kind: 'grant'; source: GrantSource; amount: number; days: number | null }
  | { kind: 'consume'; items: { key: number; event: string; quantity: number }[] }
  | { kind: 'advance'; days: number }
  | { kind: 'expire' }
  | { kind: 'revoke'; pick: number };

const item = fc.record({
  key: fc.integer({ min: 0, max: 11 }),
  event: fc.constantFrom(...Object.keys(COST)),
  quantity: fc.integer({ min: 1, max: 3 }),
});
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('grant' as const),
      source: fc.constantFrom<GrantSource>('pack', 'promotional', 'manual', 'subscription'),
      amount: fc.integer({ min: 1, max: 60 }),
      days: fc.option(fc.integer({ min: 1, max: 20 }), { nil: null }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('consume' as const),
      items: fc.array(item, { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), days: fc.integer({ min: 1, max: 10 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'expire' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revoke' as const), pick: fc.nat() }) },
);

interface MGrant {
  id: string;
  source: GrantSource;
  remaining: number;
  expiresAt: number | null;
  createdAt: number;
  revoked: boolean;
}

describe('credit ledger properties', () => {
  it('invariants and the reference model agree over random command sequences', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 40 }), async (cmds) => {
        const org = await createOrg(t.deps, systemAudit(), { name: `Prop ${run++}` });
        let now = Date.parse('2030-01-01T00:00:00Z') + run * 1_000 * DAY;
        const grants: MGrant[] = [];
        const done = new Map<string, { hash: string; id: string }>();
        const balance = () => grants.reduce((s, g) => s + g.remaining, 0);
        const expireModel = () => {
          for (const g of grants) if (g.expiresAt !== null && g.expiresAt <= now) g.remaining = 0;
        };
        for (const c of cmds) {
          now += 1_000; // distinct creation times: the ledger's last tie-break is the (random) id
          const at = new Date(now);
          if (c.kind === 'grant') {
            const expiresAt = c.days === null ? null : now + c.days * DAY;
            const r = await withOrgTx(t.deps.database, org.id, (tx) =>
              grantCredits(
                tx,
                {
                  orgId: org.id,
                  source: c.source,
                  amount: c.amount,
                  expiresAt: expiresAt === null ? null : new Date(expiresAt),
                  causeKey: `prop:${org.id}:${now}`,
                },
                at,
              ),
            );
            expireModel();
            grants.push({
              id: r.grantId!,
              source: c.source,
              remaining: c.amount,
              expiresAt,
              createdAt: now,
              revoked: false,
            });
          } else if (c.kind === 'advance') {
            now += c.days * DAY;
          } else if (c.kind === 'expire') {
            await withOrgTx(t.deps.database, org.id, (tx) => expireOrgCredits(tx, org.id, at));
            expireModel();
          } else if (c.kind === 'revoke') {
            const g = grants[c.pick % Math.max(grants.length, 1)];
            if (!g) continue;
            await withOrgTx(t.deps.database, org.id, (tx) => revokeGrant(tx, org.id, g.id, 'test', at));
            expireModel();
            g.remaining = 0;
            g.revoked = true;
          } else {
            const items = c.items.map((i) => {
              const input = { event: i.event, quantity: i.quantity, idempotencyKey: `k${i.key}` };
              return {
                id: newConsumptionId(),
                k: input.idempotencyKey,
                h: requestHash(input),
                e: i.event,
                q: i.quantity,
                c: COST[i.event]! * i.quantity,
                m: {},
              };
            });
            const [r] = await runConsume(t.deps.database, [{ o: org.id, items }], 'purchased_first', at);
            // Model: expire, then decide replays/conflicts/shortfall, then consume by precedence.
            expireModel();
            const seen = new Map<string, string>();
            let need = 0;
            let expected: { code: string; index: number } | null = null;
            items.forEach((it, index) => {
              if (expected) return;
              const prior = seen.get(it.k) ?? done.get(it.k)?.hash;
              if (prior !== undefined) {
                if (prior !== it.h) expected = { code: 'idempotency_conflict', index };
                return;
              }
              seen.set(it.k, it.h);
              need += it.c;
              if (need > balance()) expected = { code: 'insufficient_credits', index };
            });
            expect(r!.error ? { code: r!.error.code, index: r!.error.index } : null).toEqual(expected);
            if (!expected) {
              const order = grants
                .filter((g) => g.remaining > 0)
                .sort(
                  (a, b) =>
                    RANK[a.source] - RANK[b.source] ||
                    (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity) ||
                    a.createdAt - b.createdAt,
                );
              items.forEach((it, index) => {
                const res = r!.results[index]!;
                if (done.has(it.k)) {
                  expect(res.replayed).toBe(true);
                  expect(res.id).toBe(done.get(it.k)?.id ?? res.id);
                  done.set(it.k, { hash: it.h, id: res.id });
                  return;
                }
                let left = it.c;
                const breakdown: { grant_id: string; credits: number }[] = [];
                for (const g of order) {
                  if (!left) break;
                  const take = Math.min(g.remaining, left);
                  if (!take) continue;
                  g.remaining -= take;
                  left -= take;
                  breakdown.push({ grant_id: g.id, credits: take });
                }
                expect(res.breakdown.map((b) => ({ grant_id: b.grant_id, credits: b.credits }))).toEqual(
                  breakdown,
                );
                expect(res.balance).toBe(balance());
                done.set(it.k, { hash: it.h, id: res.id });
              });
            }
          }
          const inv = await checkInvariants(t.deps.database, org.id);
          // Lazily expired grants may still count in the cached balance until something expires them.
          const stored = await t.deps.database.query<{ remaining: number; expired: boolean }>(
            'SELECT remaining, expires_at <= $2 AS expired FROM credit_grants WHERE org_id = $1',
            [org.id, new Date(now).toISOString()],
          );
          const live = grants.filter((g) => g.expiresAt === null || g.expiresAt > now);
          expect(stored.filter((g) => !g.expired).reduce((s, g) => s + g.remaining, 0)).toBe(
            live.reduce((s, g) => s + g.remaining, 0),
          );
          expect(inv.overage).toBe(0);
        }
      }),
      { numRuns: 60 },
    );
  });
});
