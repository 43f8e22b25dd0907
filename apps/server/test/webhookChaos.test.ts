import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { asc, eq, sql } from 'drizzle-orm';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client.ts';
import {
  auditLog,
  creditGrants,
  emails,
  invoices,
  organizations,
  outgoingDeliveries,
  paymentMethods,
  payments,
  sideEffects,
  stripeEvents,
  subscriptions,
} from '../src/db/schema/index.ts';
import { jobs } from '../src/db/schema/jobs.ts';
import { withSystemTx } from '../src/db/tx.ts';
import type { Deps } from '../src/deps.ts';
import { createInboxProcessor } from '../src/modules/webhooks/inboxProcessor.ts';
import { advanceBoth, seedCatalog } from './catalogFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import {
  startTestApp,
  TEST_ADMIN_KEY,
  TEST_STRIPE_KEY,
  TEST_WEBHOOK_SECRET,
  type TestApp,
} from './harness.ts';
import { startSmtpSink } from './smtpSink.ts';
import { testDbKind } from './testDatabase.ts';
import { startTollgateProcess, type TollgateProcess } from './tollgateProcess.ts';

/**
 * Chaos test of the Stripe webhook pipeline (issue 5, "Done when").
 *
 * 1. Real flows through Tollgate's API against the emulator (subscriptions, upgrades, cancellations,
 *    renewals over advanced time, failing renewal cards and recoveries) until the emulator has
 *    emitted at least CHAOS_EVENTS events. The emulator delivers them to a plain collector, never
 *    to Tollgate, so we hold the raw event JSON.
 * 2. Clean run: a fresh Tollgate (own database, same emulator so re-fetches see the same Stripe)
 *    gets every event once, in created order; its projection and effects are the reference.
 * 3. Chaos run: another fresh Tollgate gets every event shuffled, duplicated 1-3 times, with 5%
 *    extra requests carrying bad signatures, processing interleaved with delivery, and workers
 *    killed mid-batch. The projection and every effect (side-effect keys, outgoing webhook events
 *    and their data, audit entries, email outbox rows) must equal the clean run's, exactly once.
 *    - PGlite (one process): in process; a worker "dies" mid-batch (its Stripe calls never return;
 *      its claims expire and another worker takes them over).
 *    - Postgres: real processes (apps/server/src/main.ts): two TOLLGATE_ROLE=api processes get the
 *      deliveries, two TOLLGATE_ROLE=worker processes apply them, send outgoing webhooks to a real
 *      receiver and emails to a real SMTP server; the worker seen holding claimed events is killed
 *      with SIGKILL several times and restarted.
 *
 * Size: CHAOS_EVENTS (default DEFAULT_TARGET below; generation overshoots by ~20%).
 *   CHAOS_EVENTS=5000 npx vitest run --project server-pglite apps/server/test/webhookChaos.test.ts
 */

/**
 * The issue's size (at least 5,000 events) runs by default where it is asked for: the Postgres
 * real-process variant. The PGlite in-process variant keeps a smaller set (one process, one core
 * for app, emulator and database alike), so the whole suite stays inside its time budget.
 */
const DEFAULT_TARGET = testDbKind() === 'postgres' ? 5000 : 1000;
const TARGET = Number(process.env.CHAOS_EVENTS ?? DEFAULT_TARGET);
/** Generation stops here even below TARGET (a safety net on a very loaded machine; the count is logged). */
const GENERATION_BUDGET_MS = Number(process.env.CHAOS_GENERATION_MS ?? Math.max(60_000, TARGET * 80));
/** Many customers over few months: each event's re-fetch cost grows with its org's history. */
const ORGS_PER_MONTH = Math.max(4, Math.ceil(TARGET / 120));
/** Per-test timeout, scaled for the big variant (CHAOS_EVENTS=5000). */
const TIMEOUT_MS = Math.max(240_000, TARGET * 250);
const DAY = 86_400;

/** Deterministic PRNG (mulberry32) so a failure can be reproduced with CHAOS_SEED. */
const SEED = Number(process.env.CHAOS_SEED ?? 20261124);
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
function shuffle<T>(items: T[], rand: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

interface RawEvent {
  id: string;
  type: string;
  created: number;
  seq: number;
  body: string;
}

let src: TestApp;
let collector: Server;
let events: RawEvent[] = [];
let orgRows: (typeof organizations.$inferSelect)[] = [];
let generationMs = 0;

/** A plain HTTP receiver the emulator delivers to: keeps every event's raw JSON, in arrival order. */
async function startCollector(into: Map<string, RawEvent>) {
  let seq = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const e = JSON.parse(body) as { id: string; type: string; created: number };
      if (!into.has(e.id)) into.set(e.id, { id: e.id, type: e.type, created: e.created, seq: seq++, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

async function call(o: TestOrg, method: string, path: string, body?: unknown, token = o.key) {
  const res = await src.request(method, `/v1/orgs/${o.id}${path}`, { token, body });
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
  return res.body;
}

const PLANS = ['basic', 'professional', 'enterprise'] as const;

/** One org's life so far: what to do with it at each monthly step. */
interface Actor {
  org: TestOrg;
  i: number;
  failing: boolean;
  canceled: boolean;
}

async function newActor(i: number): Promise<Actor> {
  const org = await createTestOrg(src, `Chaos ${i}`);
  await call(org, 'POST', '/payment-methods', { payment_method_id: 'pm_card_visa' });
  // Failing-card orgs are on enterprise (no trial), so their first renewal is a real charge.
  await call(org, 'POST', '/subscription', { plan: i % 4 === 1 ? 'enterprise' : PLANS[i % 3] });
  if (i % 3 !== 2 && i % 2 === 0) await call(org, 'PATCH', '/subscription', { plan: 'enterprise' });
  const actor: Actor = { org, i, failing: false, canceled: false };
  if (i % 4 === 1) {
    // The renewal card fails: payment_failed, Stripe's retries, then (for some) recovery.
    await call(org, 'POST', '/payment-methods', {
      payment_method_id: 'pm_card_chargeCustomerFail',
      set_default: true,
    });
    actor.failing = true;
  }
  return actor;
}

async function monthlyStep(actor: Actor, month: number) {
  const { org, i } = actor;
  if (actor.canceled) return;
  if (!actor.failing && i % 5 === 3 && month === 1) {
    await call(org, 'POST', '/subscription/cancel-now', { refund: false }, TEST_ADMIN_KEY);
    actor.canceled = true;
    return;
  }
  if (!actor.failing && i % 5 === 4 && month === 2) {
    await call(org, 'POST', '/subscription/cancel', {});
    actor.canceled = true; // it ends at the period end on Stripe's side; no more changes
    return;
  }
  if (actor.failing && i % 8 === 1 && month === 1) {
    // Recovery (while Stripe still retries): the good card becomes the default; the next retry pays.
    const cards = (await call(org, 'GET', '/payment-methods')).data as { id: string; last4: string }[];
    const good = cards.find((c) => c.last4 === '4242');
    if (good) await call(org, 'POST', `/payment-methods/${good.id}/default`, {});
    actor.failing = false;
  }
  if (!actor.failing && i % 6 === 0 && month % 2 === 1)
    await call(org, 'PATCH', '/subscription', { plan: month % 4 === 1 ? 'professional' : 'enterprise' });
}

beforeAll(async () => {
  const started = Date.now();
  src = await startTestApp();
  await seedCatalog(src);
  const collected = new Map<string, RawEvent>();
  collector = await startCollector(collected);
  src.emulator.control.addWebhookEndpoint({
    url: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/`,
    secret: 'whsec_collector_only_0000000000000',
  });

  const actors: Actor[] = [];
  let month = 0;
  while (collected.size < TARGET && Date.now() - started < GENERATION_BUDGET_MS) {
    // A few new customers each month, then everyone's month, then a month passes (renewals,
    // dunning retries, trials ending).
    for (let k = 0; k < ORGS_PER_MONTH; k++) actors.push(await newActor(actors.length));
    for (const a of actors) await monthlyStep(a, month - Math.floor(a.i / ORGS_PER_MONTH));
    await advanceBoth(src, 16 * DAY);
    await advanceBoth(src, 16 * DAY);
    await src.runJobs();
    await src.emulator.control.waitForDeliveries();
    month++;
  }
  await src.emulator.control.waitForDeliveries();
  events = [...collected.values()].sort((a, b) => a.created - b.created || a.seq - b.seq);
  orgRows = await withSystemTx(src.db.database, (tx) =>
    tx.select().from(organizations).orderBy(asc(organizations.id)),
  );
  generationMs = Date.now() - started;
  console.info(
    `[chaos] generated ${events.length} events (target ${TARGET}) from ${actors.length} orgs over ${month} months in ${generationMs} ms`,
  );
}, TIMEOUT_MS);

afterAll(async () => {
  await src?.close();
  await new Promise<void>((r) => (collector ? collector.close(() => r()) : r()));
});

/** A fresh Tollgate on the same Stripe: the orgs exist (created through our API before any event) and one global outgoing endpoint. */
async function freshApp(opts: { endpointUrl?: string } = {}): Promise<TestApp> {
  const t = await startTestApp({}, { emulator: src.emulator });
  t.deps.clock.advance(src.deps.clock.nowMs() - t.deps.clock.nowMs());
  await seedCatalog(t);
  await withSystemTx(t.db.database, (tx) =>
    tx.insert(organizations).values(
      orgRows.map((o) => ({
        id: o.id,
        name: o.name,
        billingEmail: o.billingEmail,
        stripeCustomerId: o.stripeCustomerId,
        createdAt: o.createdAt,
      })),
    ),
  );
  const ep = await t.request('POST', '/v1/admin/webhook-endpoints', {
    token: TEST_ADMIN_KEY,
    body: { url: opts.endpointUrl ?? 'http://127.0.0.1:9/never-delivered', events: ['*'] },
  });
  expect(ep.status, JSON.stringify(ep.body)).toBe(201);
  return t;
}

const sign = (body: string, secret = TEST_WEBHOOK_SECRET) =>
  Stripe.webhooks.generateTestHeaderString({ payload: body, secret });
const post = (t: TestApp, body: string, signature: string) =>
  t.request('POST', '/v1/webhooks/stripe', { raw: body, headers: { 'stripe-signature': signature } });
/** The same delivery to a real Tollgate process. */
async function postTo(url: string, body: string, signature: string) {
  const res = await fetch(`${url}/v1/webhooks/stripe`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
  });
  return { status: res.status, text: await res.text() };
}

/** Runs `fn` over items with at most `n` in flight. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Processes until nothing is due; a retry waiting on backoff is made due by moving the clock. */
async function drain(
  t: TestApp,
  more: () => Promise<number> = () => t.processEvents(),
  others: TestApp[] = [],
) {
  for (let round = 0; round < 20; round++) {
    await more();
    const [left] = await withSystemTx(t.db.database, (tx) =>
      tx
        .select({ n: sql<number>`count(*)::int` })
        .from(stripeEvents)
        .where(sql`${stripeEvents.status} IN ('pending', 'processing')`),
    );
    if (!left?.n) return;
    for (const a of [t, ...others]) a.deps.clock.advance(3_700_000);
  }
}

/** The billing projection, semantic columns only (no stamps of our own writes or our clock). */
async function projection(database: Database) {
  const drop = (rows: Record<string, unknown>[], cols: string[]) =>
    rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !cols.includes(k))));
  return withSystemTx(database, async (tx) => ({
    orgs: (await tx.select().from(organizations).orderBy(asc(organizations.id))).map((o) => ({
      id: o.id,
      billingEmail: o.billingEmail,
      stripeCustomerId: o.stripeCustomerId,
      subscriptionId: o.subscriptionId,
      subscriptionStatus: o.subscriptionStatus,
      currentPeriodEnd: o.currentPeriodEnd,
      trialEndsAt: o.trialEndsAt,
      planKey: o.planKey,
      trialUsed: o.trialUsedAt !== null,
      address: o.address,
      billingState: o.billingState,
      paymentFailureReason: o.paymentFailureReason,
      paymentActionUrl: o.paymentActionUrl,
      pastDueSince: o.pastDueSince,
      graceEndsAt: o.graceEndsAt,
    })),
    subscriptions: drop(await tx.select().from(subscriptions).orderBy(asc(subscriptions.id)), [
      'stripeUpdatedAt',
      'updatedAt',
      'createdAt',
    ]),
    invoices: drop(await tx.select().from(invoices).orderBy(asc(invoices.id)), [
      'stripeUpdatedAt',
      'updatedAt',
      'createdAt',
    ]),
    payments: drop(await tx.select().from(payments).orderBy(asc(payments.id)), [
      'stripeUpdatedAt',
      'updatedAt',
      'createdAt',
    ]),
    paymentMethods: (await tx.select().from(paymentMethods).orderBy(asc(paymentMethods.id))).map(
      ({ createdAt: _c, detachedAt, ...c }) => ({ ...c, detached: detachedAt !== null }),
    ),
  }));
}

/** Every effect the events caused, as counted multisets (a key seen twice shows up as count 2). */
async function effects(database: Database) {
  const count = (keys: string[]) => {
    const m: Record<string, number> = {};
    for (const k of keys) m[k] = (m[k] ?? 0) + 1;
    return m;
  };
  return withSystemTx(database, async (tx) => ({
    sideEffects: count(
      (await tx.select({ key: sideEffects.key }).from(sideEffects)).map((r) => r.key).sort(),
    ),
    deliveries: count(
      (
        await tx
          .select({ type: outgoingDeliveries.eventType, eventId: outgoingDeliveries.eventId })
          .from(outgoingDeliveries)
      )
        .map((r) => `${r.type} ${r.eventId}`)
        .sort(),
    ),
    deliveryData: Object.fromEntries(
      (
        await tx
          .select({ eventId: outgoingDeliveries.eventId, payload: outgoingDeliveries.payload })
          .from(outgoingDeliveries)
      ).map((r) => [r.eventId, (r.payload as { data: unknown }).data]),
    ),
    // One outbox row per cause (its recipients and template); what was sent is checked separately.
    emails: count(
      (await tx.select({ key: emails.causeKey, template: emails.template, to: emails.to }).from(emails))
        .map((r) => `${r.template} ${r.key} ${r.to.join(',')}`)
        .sort(),
    ),
    // Every credit grant exactly once: grants by their cause (source, cause key, amount) and the
    // ledger's grant entries by the cause of their grant (a second entry for one grant shows as 2).
    credits: count(
      (
        await tx
          .select({ key: creditGrants.causeKey, source: creditGrants.source, amount: creditGrants.amount })
          .from(creditGrants)
      )
        .map((r) => `${r.source} ${r.key} ${r.amount}`)
        .sort(),
    ),
    creditLedger: count(
      (
        (await tx.execute(sql`
          SELECT l.kind, l.amount, g.cause_key FROM credit_ledger l
            JOIN credit_grants g ON g.id = l.grant_id`)) as unknown as {
          rows: { kind: string; amount: number; cause_key: string }[];
        }
      ).rows
        .map((r) => `${r.kind} ${r.cause_key} ${r.amount}`)
        .sort(),
    ),
    audit: count(
      (
        await tx
          .select({ action: auditLog.action, target: auditLog.targetId, org: auditLog.orgId })
          .from(auditLog)
          .where(eq(auditLog.actorType, 'stripe_event'))
      )
        .map((r) => `${r.action} ${r.org} ${r.target}`)
        .sort(),
    ),
  }));
}

async function statusCounts(database: Database) {
  const rows = await withSystemTx(database, (tx) =>
    tx
      .select({ status: stripeEvents.status, n: sql<number>`count(*)::int` })
      .from(stripeEvents)
      .groupBy(stripeEvents.status),
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/**
 * A worker that dies mid-batch: it claims a batch like any worker, applies a few events, then its
 * next Stripe call never returns (the process is gone). Its claims stay 'processing' with a lock
 * until the lock expires. Stripe calls are never made inside a database transaction, so a dead
 * worker holds no row locks — as with a killed process, whose connections the server drops.
 */
async function killWorkerMidBatch(t: TestApp, afterCalls: number, batch: number) {
  let calls = 0;
  let hung = false;
  const never = new Promise<never>(() => {});
  const wrap = (target: object): object =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const v = Reflect.get(obj, prop, receiver);
        if (typeof v === 'function')
          return (...args: unknown[]) => {
            if (++calls > afterCalls) {
              hung = true;
              return never;
            }
            return (v as (...a: unknown[]) => unknown).apply(obj, args);
          };
        if (v && typeof v === 'object' && typeof prop === 'string' && /^[a-z]/.test(prop)) return wrap(v);
        return v;
      },
    });
  const doomedDeps: Deps = { ...t.deps, stripe: wrap(t.deps.stripe) as Stripe };
  const doomed = createInboxProcessor(doomedDeps, t.metrics.webhook, { batch });
  let finished = false;
  void doomed
    .runOnce()
    .catch(() => 0)
    .finally(() => {
      finished = true;
    });
  const deadline = Date.now() + 20_000;
  while (!hung && !finished && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const stuck = await withSystemTx(t.db.database, (tx) =>
    tx
      .select({ n: sql<number>`count(*)::int` })
      .from(stripeEvents)
      .where(eq(stripeEvents.status, 'processing')),
  );
  return { hung, stuck: stuck[0]?.n ?? 0 };
}

describe('webhook pipeline under chaos', () => {
  let clean: TestApp;
  let reference: {
    projection: Awaited<ReturnType<typeof projection>>;
    effects: Awaited<ReturnType<typeof effects>>;
  };

  afterAll(async () => {
    await clean?.close();
  });

  it(`generated enough real events (target ${TARGET})`, () => {
    expect(events.length).toBeGreaterThanOrEqual(Math.min(TARGET, 1000));
    const types = new Set(events.map((e) => e.type));
    for (const type of [
      'customer.subscription.created',
      'customer.subscription.updated',
      'customer.subscription.deleted',
      'invoice.paid',
      'invoice.payment_failed',
      'payment_intent.succeeded',
    ])
      expect(types, type).toContain(type);
  });

  it(
    'clean run: every event once, in created order',
    async () => {
      const started = Date.now();
      clean = await freshApp();
      // On Postgres the worker applies while events are still being delivered (the database works
      // on the other core meanwhile). Still in order: delivery is sequential in created order and
      // the worker claims in created order, so nothing is applied before an earlier event.
      let delivering = testDbKind() === 'postgres';
      const applying = (async () => {
        while (delivering) if (!(await clean.processEvents())) await new Promise((r) => setTimeout(r, 20));
      })();
      try {
        for (const e of events) {
          const res = await post(clean, e.body, sign(e.body));
          expect(res.status, res.text).toBe(200);
          expect(res.body.duplicate).toBe(false);
        }
      } finally {
        delivering = false;
        await applying;
      }
      const stored = Date.now();
      await drain(clean);
      const counts = await statusCounts(clean.db.database);
      expect(counts.dead ?? 0).toBe(0);
      expect((counts.applied ?? 0) + (counts.ignored ?? 0)).toBe(events.length);
      reference = {
        projection: await projection(clean.db.database),
        effects: await effects(clean.db.database),
      };
      // The reference is not empty: the flows produced billing state and effects to compare.
      expect(reference.projection.subscriptions.length).toBeGreaterThanOrEqual(8);
      expect(reference.projection.invoices.length).toBeGreaterThan(10);
      // Paid subscription periods granted credits: the exactly-once comparison is not vacuous.
      expect(Object.keys(reference.effects.credits).length).toBeGreaterThan(5);
      expect(reference.projection.orgs.some((o) => o.billingState !== 'ok')).toBe(true);
      expect(Object.keys(reference.effects.deliveries).some((k) => k.startsWith('payment.failed'))).toBe(
        true,
      );
      expect(Object.keys(reference.effects.audit).some((k) => k.startsWith('billing.payment_failed'))).toBe(
        true,
      );
      expect(Object.keys(reference.effects.emails).some((k) => k.startsWith('payment_failed '))).toBe(true);
      for (const m of [
        reference.effects.sideEffects,
        reference.effects.deliveries,
        reference.effects.audit,
        reference.effects.emails,
      ])
        expect(Object.values(m).every((n) => n === 1)).toBe(true);
      console.info(
        `[chaos] clean run (${testDbKind()}): ${events.length} events, ${counts.applied} applied, ${Date.now() - started} ms (delivered over HTTP${testDbKind() === 'postgres' ? ' while applying' : ''} ${stored - started} ms, then applied ${Date.now() - stored} ms)`,
      );
    },
    TIMEOUT_MS,
  );

  type Req = { body: string; sig: string; bad: boolean; kind?: string };
  /**
   * Every event duplicated 1-3 times plus 5% bad-signature requests (tampered body, wrong secret,
   * stale timestamp), shuffled. Good requests are signed when sent (the 300 s tolerance).
   */
  function chaosRequests(rand: () => number) {
    const reqs: Req[] = [];
    for (const e of events) {
      const copies = 1 + Math.floor(rand() * 3);
      for (let c = 0; c < copies; c++) reqs.push({ body: e.body, sig: '', bad: false });
    }
    const badCount = Math.ceil(reqs.length * 0.05);
    for (let k = 0; k < badCount; k++) {
      const e = events[Math.floor(rand() * events.length)]!;
      const kind = k % 3;
      if (kind === 0) {
        // Body altered after signing (its timestamp moved by a second).
        const tampered = JSON.stringify({ ...JSON.parse(e.body), created: e.created + 1 });
        reqs.push({ body: tampered, sig: sign(e.body), bad: true, kind: 'tampered' });
      } else if (kind === 1)
        reqs.push({
          body: e.body,
          sig: sign(e.body, 'whsec_an_attacker_000000000000000'),
          bad: true,
          kind: 'wrong secret',
        });
      else {
        // A forged event with a signature from an old timestamp (outside the 300 s tolerance).
        const stale = Stripe.webhooks.generateTestHeaderString({
          payload: e.body,
          secret: TEST_WEBHOOK_SECRET,
          timestamp: Math.floor(Date.now() / 1000) - 3_600,
        });
        reqs.push({ body: e.body, sig: stale, bad: true, kind: 'stale' });
      }
    }
    return { order: shuffle(reqs, rand), badCount };
  }

  /** The final state must be the clean run's: every event applied once, effects exactly once. */
  async function expectSameAsClean(db: Database) {
    const counts = await statusCounts(db);
    expect(counts).not.toHaveProperty('dead');
    expect(counts).not.toHaveProperty('pending');
    expect(counts).not.toHaveProperty('processing');
    expect((counts.applied ?? 0) + (counts.ignored ?? 0)).toBe(events.length);

    const got = { projection: await projection(db), effects: await effects(db) };
    expect(got.projection.orgs).toEqual(reference.projection.orgs);
    expect(got.projection.subscriptions).toEqual(reference.projection.subscriptions);
    expect(got.projection.invoices).toEqual(reference.projection.invoices);
    expect(got.projection.payments).toEqual(reference.projection.payments);
    expect(got.projection.paymentMethods).toEqual(reference.projection.paymentMethods);
    // Exactly once: each key appears once and the set equals the clean run's.
    expect(got.effects.sideEffects).toEqual(reference.effects.sideEffects);
    expect(got.effects.deliveries).toEqual(reference.effects.deliveries);
    expect(got.effects.deliveryData).toEqual(reference.effects.deliveryData);
    expect(got.effects.audit).toEqual(reference.effects.audit);
    expect(got.effects.emails).toEqual(reference.effects.emails);
  }

  /**
   * In-process: delivers the chaos requests to one app; between batches its worker processes
   * (delayed events), and several times a worker dies mid-batch and its claims are taken over
   * after the lock expires.
   */
  async function chaosRun(t: TestApp, label: string) {
    const started = Date.now();
    const { order, badCount } = chaosRequests(rng(SEED + 1));
    const batches = 12;
    const size = Math.ceil(order.length / batches);
    const kills: { hung: boolean; stuck: number }[] = [];
    let rejected = 0;
    const acceptedBad: string[] = [];
    const lockMs = t.deps.env.WORKER_LOCK_SECONDS * 1000 + 1_000;
    for (let b = 0; b < batches; b++) {
      const slice = order.slice(b * size, (b + 1) * size);
      await pool(slice, 8, async (r) => {
        const res = await post(t, r.body, r.bad ? r.sig : sign(r.body));
        if (r.bad) {
          if (res.status === 400) rejected++;
          else acceptedBad.push(`${r.kind} ${res.status} ${res.text.slice(0, 200)}`);
        } else expect(res.status, res.text).toBe(200);
      });
      if (b % 4 === 2 && b < batches - 1) {
        kills.push(await killWorkerMidBatch(t, 3 + b, 15));
        // The dead worker's lock expires; the others take its events over.
        t.deps.clock.advance(lockMs);
        await t.processEvents();
      }
      // Some events wait (delayed): processing runs only after some batches.
      if (b % 3 === 1) await t.processEvents();
    }
    // One more kill right at the end, then drain.
    kills.push(await killWorkerMidBatch(t, 5, 25));
    t.deps.clock.advance(lockMs);
    await drain(t);

    expect(acceptedBad).toEqual([]);
    expect(rejected).toBe(badCount);
    expect(kills.length).toBeGreaterThanOrEqual(3);
    for (const k of kills) {
      expect(k.hung).toBe(true);
      expect(k.stuck).toBeGreaterThan(0);
    }
    await expectSameAsClean(t.db.database);
    console.info(
      `[chaos] ${label} (${testDbKind()}): ${order.length} requests (${events.length} events, ${badCount} bad signatures), ${kills.length} workers killed (${kills.map((k) => k.stuck).join('/')} events stuck), ${Date.now() - started} ms`,
    );
  }

  it.skipIf(testDbKind() === 'postgres')(
    'chaos run in one process (PGlite): shuffled, duplicated, bad signatures, delayed, workers killed — same projection, effects once',
    async () => {
      const t = await freshApp();
      try {
        await chaosRun(t, 'one app, one worker, in process');
      } finally {
        await t.close();
      }
    },
    TIMEOUT_MS,
  );

  it.skipIf(testDbKind() !== 'postgres')(
    'real processes on one Postgres: two api processes, two workers kill -9ed mid-processing and restarted — same projection, effects once',
    async () => {
      const started = Date.now();
      const outgoing = await startReceiver();
      const smtp = await startSmtpSink();
      // The database (catalog, orgs, one global outgoing endpoint) is prepared in process; then
      // only the real processes touch it until everything is applied.
      const setup = await freshApp({ endpointUrl: outgoing.url });
      const procEnv = {
        NODE_ENV: 'test',
        TOLLGATE_DEMO: 'false',
        LOG_LEVEL: 'warn',
        DATABASE_URL: setup.db.url!,
        DATABASE_POOL_SIZE: '5',
        STRIPE_API_BASE: src.emulator.url,
        STRIPE_SECRET_KEY: TEST_STRIPE_KEY,
        STRIPE_WEBHOOK_SECRETS: TEST_WEBHOOK_SECRET,
        // Short claims so a killed worker's events are taken over within seconds.
        WORKER_LOCK_SECONDS: '10',
        WORKER_POLL_INTERVAL_MS: '100',
        // The drift check would heal from Stripe's current state and add effects the clean run lacks.
        RECONCILE_INTERVAL_MINUTES: '0',
        EMAIL_TRANSPORT: 'smtp',
        SMTP_URL: smtp.url,
      };
      const procs: TollgateProcess[] = [];
      const startProc = async (role: 'api' | 'worker') => {
        const p = await startTollgateProcess(role, procEnv);
        procs.push(p);
        return p;
      };
      try {
        const apis = await Promise.all([startProc('api'), startProc('api')]);
        const workers = await Promise.all([startProc('worker'), startProc('worker')]);
        const { order, badCount } = chaosRequests(rng(SEED + 2));
        const batches = 12;
        const size = Math.ceil(order.length / batches);
        const kills: { pid: number; stuck: number }[] = [];
        let rejected = 0;
        const acceptedBad: string[] = [];
        let turn = 0;
        for (let b = 0; b < batches; b++) {
          const slice = order.slice(b * size, (b + 1) * size);
          const delivering = pool(slice, 8, async (r) => {
            const api = apis[turn++ % apis.length]!;
            const res = await postTo(api.url!, r.body, r.bad ? r.sig : sign(r.body));
            if (r.bad) {
              if (res.status === 400) rejected++;
              else acceptedBad.push(`${r.kind} ${res.status} ${res.text.slice(0, 200)}`);
            } else expect(res.status, res.text).toBe(200);
          });
          // Several times, while events pour in, the worker holding claims is killed mid-batch
          // (and restarted, as a supervisor would).
          if (b % 2 === 1 && kills.filter((k) => k.stuck > 0).length < 4) {
            const kill = await killWorkerHoldingClaims(setup.db.database, workers);
            if (kill) {
              kills.push({ pid: kill.pid, stuck: kill.stuck });
              workers[kill.index] = await startProc('worker');
            }
          }
          await delivering;
        }
        expect(acceptedBad).toEqual([]);
        expect(rejected).toBe(badCount);
        await waitUntilSettled(setup.db.database, 300_000 + events.length * 100);

        const midBatch = kills.filter((k) => k.stuck > 0);
        expect(midBatch.length, `kills holding claims: ${JSON.stringify(kills)}`).toBeGreaterThanOrEqual(3);
        await expectSameAsClean(setup.db.database);

        // What left the building. At least once over the network (a worker killed after the
        // receiver's 2xx but before recording it sends again), so: every outgoing event and every
        // email was received, nothing was received that has no outbox row, and distinct causes
        // are never merged or doubled (one row per cause, compared with the clean run above).
        const sent = await withSystemTx(setup.db.database, async (tx) => ({
          deliveries: await tx
            .select({ eventId: outgoingDeliveries.eventId, status: outgoingDeliveries.status })
            .from(outgoingDeliveries),
          emails: await tx.select({ id: emails.id, status: emails.status }).from(emails),
        }));
        expect(sent.deliveries.filter((d) => d.status !== 'delivered')).toEqual([]);
        expect(sent.emails.filter((e) => e.status !== 'sent')).toEqual([]);
        expect(new Set(outgoing.received)).toEqual(new Set(sent.deliveries.map((d) => d.eventId)));
        expect(new Set(smtp.received.map((m) => m.id))).toEqual(new Set(sent.emails.map((e) => e.id)));
        expect(sent.emails.length).toBeGreaterThan(0);
        console.info(
          `[chaos] real processes (2 api, 2 workers, postgres): ${order.length} requests (${events.length} events, ${badCount} bad signatures), ${kills.length} workers kill -9ed holding ${kills.map((k) => k.stuck).join('/')} claimed events; ${sent.deliveries.length} outgoing events (${outgoing.received.length} received), ${sent.emails.length} emails (${smtp.received.length} received); ${Date.now() - started} ms`,
        );
      } finally {
        await Promise.all(procs.map((p) => p.stop()));
        await setup.close();
        await smtp.close();
        await outgoing.close();
      }
    },
    TIMEOUT_MS,
  );
});

/** The host product's webhook receiver: answers 200 and keeps each Tollgate-Event-Id received. */
async function startReceiver() {
  const received: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(String(req.headers['tollgate-event-id']));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Waits until one of `workers` holds claimed Stripe events (its pid is in the claim), then kills
 * it with SIGKILL and counts the events its claims left stuck in `processing`. Null when no worker
 * was seen holding claims within the window (everything delivered so far was already applied).
 */
async function killWorkerHoldingClaims(database: Database, workers: TollgateProcess[]) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const holders = await withSystemTx(database, (tx) =>
      tx
        .select({ by: stripeEvents.lockedBy })
        .from(stripeEvents)
        .where(eq(stripeEvents.status, 'processing'))
        .groupBy(stripeEvents.lockedBy),
    );
    const index = workers.findIndex((w) => holders.some((h) => h.by?.startsWith(`inbox-${w.pid}-`)));
    if (index >= 0) {
      const victim = workers[index]!;
      await victim.kill9();
      const [stuck] = await withSystemTx(database, (tx) =>
        tx
          .select({ n: sql<number>`count(*)::int` })
          .from(stripeEvents)
          .where(
            sql`${stripeEvents.status} = 'processing' AND ${stripeEvents.lockedBy} LIKE ${`inbox-${victim.pid}-%`}`,
          ),
      );
      // 0 when it was caught between finishing its batch and its next claim.
      return { index, pid: victim.pid, stuck: stuck?.n ?? 0 };
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return null;
}

/** Until every event is applied and every due job (deliveries, emails) has run. */
async function waitUntilSettled(database: Database, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [left] = await withSystemTx(database, async (tx) => [
      {
        events: (
          await tx
            .select({ n: sql<number>`count(*)::int` })
            .from(stripeEvents)
            .where(sql`${stripeEvents.status} IN ('pending', 'processing')`)
        )[0]!.n,
        jobs: (
          await tx
            .select({ n: sql<number>`count(*)::int` })
            .from(jobs)
            // Recurring jobs (credit expiry, usage reports) are always queued for their next
            // slot: only work that is due or running counts.
            .where(sql`${jobs.status} = 'running' OR (${jobs.status} = 'queued' AND ${jobs.runAt} <= now())`)
        )[0]!.n,
      },
    ]);
    if (!left!.events && !left!.jobs) return;
    if (Date.now() > deadline) throw new Error(`not settled: ${JSON.stringify(left)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
