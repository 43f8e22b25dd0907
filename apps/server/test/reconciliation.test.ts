import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asc, eq } from 'drizzle-orm';
import { Registry } from 'prom-client';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client.ts';
import {
  invoices,
  jobs,
  organizations,
  paymentMethods,
  payments,
  refunds,
  subscriptions,
} from '../src/db/schema/index.ts';
import { withSystemTx } from '../src/db/tx.ts';
import { enqueueJobInSystemTx } from '../src/jobs/index.ts';
import { reconcileDriftTask, scheduleDriftCheck } from '../src/modules/reconciliation/driftTask.ts';
import { reconcileHealed, registerReconcileMetrics } from '../src/modules/reconciliation/metrics.ts';
import { syncAll } from '../src/modules/reconciliation/syncAll.ts';
import { syncOrgFromStripe } from '../src/modules/reconciliation/syncOrgFromStripe.ts';
import type { AuditEntryView } from './auditTrail.ts';
import { advanceBoth, seedCatalog } from './catalogFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, TEST_STRIPE_KEY, type TestApp } from './harness.ts';

const DAY = 86_400;
let t: TestApp;
/** A second Tollgate (its own, empty database) on the same Stripe. */
let restored: TestApp;
let buyer: TestOrg;
let upgrader: TestOrg;
let school: TestOrg;
let cardOnly: TestOrg;

async function addCard(o: TestOrg, pm: string) {
  const res = await t.request('POST', `/v1/orgs/${o.id}/payment-methods`, {
    token: o.key,
    body: { payment_method_id: pm },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}
async function subscribe(o: TestOrg, plan: string) {
  const res = await t.request('POST', `/v1/orgs/${o.id}/subscription`, { token: o.key, body: { plan } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.subscription;
}

/**
 * The billing projection as rows of semantic columns: what Stripe decides, without the stamps of
 * our own writes (watermarks, updated_at, when a card was seen detached, who issued a refund).
 */
async function projection(database: Database) {
  const drop = (rows: Record<string, unknown>[], cols: string[]) =>
    rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !cols.includes(k))));
  return withSystemTx(database, async (tx) => ({
    orgs: (
      await tx
        .select({
          id: organizations.id,
          name: organizations.name,
          billingEmail: organizations.billingEmail,
          stripeCustomerId: organizations.stripeCustomerId,
          subscriptionId: organizations.subscriptionId,
          subscriptionStatus: organizations.subscriptionStatus,
          currentPeriodEnd: organizations.currentPeriodEnd,
          trialEndsAt: organizations.trialEndsAt,
          planKey: organizations.planKey,
          trialUsedAt: organizations.trialUsedAt,
        })
        .from(organizations)
        .orderBy(asc(organizations.id))
    ).map(({ trialUsedAt, ...o }) => ({ ...o, trialUsed: trialUsedAt !== null })),
    subscriptions: drop(await tx.select().from(subscriptions).orderBy(asc(subscriptions.id)), [
      'stripeUpdatedAt',
      'updatedAt',
    ]),
    invoices: drop(await tx.select().from(invoices).orderBy(asc(invoices.id)), ['stripeUpdatedAt']),
    payments: drop(await tx.select().from(payments).orderBy(asc(payments.id)), ['stripeUpdatedAt']),
    refunds: drop(await tx.select().from(refunds).orderBy(asc(refunds.id)), ['createdBy']),
    paymentMethods: (await tx.select().from(paymentMethods).orderBy(asc(paymentMethods.id))).map(
      ({ createdAt: _c, detachedAt, ...c }) => ({ ...c, detached: detachedAt !== null }),
    ),
  }));
}

const healedCount = async (kind: string) =>
  (await reconcileHealed.get()).values.find((v) => v.labels.kind === kind)?.value ?? 0;

beforeAll(async () => {
  t = await startTestApp();
  await seedCatalog(t);
  buyer = await createTestOrg(t, 'Buyer Co');
  upgrader = await createTestOrg(t, 'Upgrade Co');
  school = await createTestOrg(t, 'Springfield Elementary');
  cardOnly = await createTestOrg(t, 'Card Only Co');

  await addCard(buyer, 'pm_card_visa');
  await addCard(buyer, 'pm_card_mastercard');
  await subscribe(buyer, 'enterprise');

  // A trial used up and canceled, a paid subscription, then an upgrade with proration.
  await addCard(upgrader, 'pm_card_visa');
  await subscribe(upgrader, 'basic');
  expect(
    (
      await t.request('POST', `/v1/orgs/${upgrader.id}/subscription/cancel-now`, {
        token: TEST_ADMIN_KEY,
        body: {},
      })
    ).status,
  ).toBe(200);
  expect((await subscribe(upgrader, 'basic')).status).toBe('active');
  await advanceBoth(t, 10 * DAY);
  const up = await t.request('PATCH', `/v1/orgs/${upgrader.id}/subscription`, {
    token: upgrader.key,
    body: { plan: 'professional' },
  });
  expect(up.status, JSON.stringify(up.body)).toBe(200);

  // An institution: net-30 invoice, no card.
  const profile = await t.request('PATCH', `/v1/orgs/${school.id}`, {
    token: school.admin.jwt,
    body: { collection_method: 'send_invoice', days_until_due: 30 },
  });
  expect(profile.status, JSON.stringify(profile.body)).toBe(200);
  await subscribe(school, 'enterprise');
  // A downgrade waits for the period end in a subscription schedule.
  const down = await t.request('PATCH', `/v1/orgs/${school.id}/subscription`, {
    token: school.key,
    body: { plan: 'basic' },
  });
  expect(down.status, JSON.stringify(down.body)).toBe(200);
  expect(down.body.subscription.pending_change).toMatchObject({ plan: 'basic' });

  await addCard(cardOnly, 'pm_card_amex');

  // Everything a dashboard shows, read once (this is how the app's projection is filled in).
  for (const o of [buyer, upgrader, school, cardOnly])
    for (const path of ['invoices', 'payments?refresh=true', 'payment-methods', 'subscription']) {
      const res = await t.request('GET', `/v1/orgs/${o.id}/${path}`, { token: o.key });
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(200);
    }
  const paid = (await t.request('GET', `/v1/orgs/${buyer.id}/payments`, { token: buyer.key })).body.data[0];
  const refund = await t.request('POST', `/v1/orgs/${buyer.id}/payments/${paid.id}/refunds`, {
    token: TEST_ADMIN_KEY,
    body: { amount: 5_000, reason: 'requested_by_customer', idempotency_key: 'reconcile-test-refund' },
  });
  expect(refund.status, JSON.stringify(refund.body)).toBe(201);
  await t.runJobs(); // profile changes reach Stripe through the customer.sync outbox

  restored = await startTestApp({}, { emulator: t.emulator });
  await seedCatalog(restored); // the catalog is pushed first (`tollgate catalog push`), as in production
}, 120_000);
afterAll(async () => {
  await restored?.close();
  await t?.close();
});

describe('tollgate sync', () => {
  it('the populated projection already equals Stripe: a sync reports no differences', async () => {
    for (const o of [buyer, upgrader, school, cardOnly]) {
      const summary = await syncOrgFromStripe(t.deps, o.id);
      expect(summary.differences, o.name).toEqual([]);
      expect(summary.customerId).toMatch(/^cus_/);
    }
  });

  it('into an empty database reproduces the populated projection; a second run changes nothing', async () => {
    const original = await projection(t.db.database);
    expect(original.orgs).toHaveLength(4);
    expect(original.subscriptions.length).toBe(4);
    expect(original.payments.some((p) => p.status === 'partially_refunded')).toBe(true);
    expect(original.invoices.some((i) => i.status === 'open' && i.collectionMethod === 'send_invoice')).toBe(
      true,
    );
    expect(original.refunds).toHaveLength(1);
    expect(original.paymentMethods.length).toBe(4);
    expect(original.subscriptions.filter((s) => s.pendingPlanKey === 'basic')).toHaveLength(1);
    expect((await projection(restored.db.database)).orgs).toEqual([]);

    const first = await syncAll(restored.deps);
    expect(first.conflicts).toEqual([]);
    expect(first.orgs.map((o) => o.orgId).sort()).toEqual(original.orgs.map((o) => o.id));
    expect(first.orgs.every((o) => o.created && o.differences.length > 0)).toBe(true);
    const upgraded = first.orgs.find((o) => o.orgId === upgrader.id)!;
    expect(upgraded.seen.subscriptions).toBe(2);
    expect(
      upgraded.differences.filter((d) => d.kind === 'subscription' && d.change === 'added'),
    ).toHaveLength(2);

    expect(await projection(restored.db.database)).toEqual(original);
    // The restored app serves it: the upgrader is on professional.
    const restoredOrg = await restored.request('GET', `/v1/orgs/${upgrader.id}`, { token: TEST_ADMIN_KEY });
    expect(restoredOrg.status, JSON.stringify(restoredOrg.body)).toBe(200);
    expect(restoredOrg.body.plan_key ?? restoredOrg.body.plan).toBe('professional');

    const second = await syncAll(restored.deps);
    expect(second.orgs).toHaveLength(4);
    expect(second.orgs.every((o) => !o.created && !o.linked && o.differences.length === 0)).toBe(true);
    expect(await projection(restored.db.database)).toEqual(original);
  });
});

describe('drift check', () => {
  let buyerSub: string;
  let upgraderSub: string;

  const outgoingSubscriptionUpdates = async () => {
    const res = await t.request(
      'GET',
      '/v1/admin/webhook-deliveries?event_type=subscription.updated&limit=100',
      {
        token: TEST_ADMIN_KEY,
      },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.data as { org_id: string; payload: unknown }[];
  };

  it('heals changes Tollgate never heard about, with an audit entry and a metric per difference', async () => {
    const orgRow = (id: string) =>
      withSystemTx(t.db.database, (tx) => tx.select().from(organizations).where(eq(organizations.id, id)));
    buyerSub = (await orgRow(buyer.id))[0]!.subscriptionId!;
    upgraderSub = (await orgRow(upgrader.id))[0]!.subscriptionId!;
    // Straight to Stripe, no webhooks: the projection does not know.
    await t.deps.stripe.subscriptions.update(buyerSub, { cancel_at_period_end: true });
    const canceled: Stripe.Subscription = await t.deps.stripe.subscriptions.cancel(upgraderSub);
    expect(canceled.status).toBe('canceled');
    expect(
      (await t.request('GET', `/v1/orgs/${buyer.id}/subscription`, { token: buyer.key })).body,
    ).toMatchObject({ cancel_at_period_end: false });

    const metrics = { registry: new Registry() };
    registerReconcileMetrics(metrics);
    registerReconcileMetrics(metrics); // once per registry, however often it is called
    const subsHealedBefore = await healedCount('subscription');

    const endpoint = await t.request('POST', '/v1/admin/webhook-endpoints', {
      token: TEST_ADMIN_KEY,
      body: { url: 'http://127.0.0.1:9/tollgate-hooks', events: ['subscription.updated'] },
    });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);

    await enqueueJobInSystemTx(t.db.database, reconcileDriftTask.job({ slot: 0 }));
    expect(await t.runJobs()).toBeGreaterThanOrEqual(1);

    expect(
      (await t.request('GET', `/v1/orgs/${buyer.id}/subscription`, { token: buyer.key })).body,
    ).toMatchObject({ cancel_at_period_end: true, status: 'active', plan: 'enterprise' });
    const upgraded = (await orgRow(upgrader.id))[0]!;
    expect(upgraded).toMatchObject({
      subscriptionStatus: 'canceled',
      planKey: 'free',
      subscriptionId: upgraderSub,
    });

    const log = await t.request('GET', '/v1/admin/audit-log?action=reconcile.healed&limit=100', {
      token: TEST_ADMIN_KEY,
    });
    expect(log.status).toBe(200);
    const entries = log.body.data as AuditEntryView[];
    expect(entries.every((e) => e.actor_type === 'system')).toBe(true);
    const buyerEntry = entries.find((e) => e.target_type === 'subscription' && e.target_id === buyerSub);
    expect(buyerEntry).toMatchObject({
      org_id: buyer.id,
      before: { cancelAtPeriodEnd: false },
      after: { cancelAtPeriodEnd: true },
    });
    const orgEntry = entries.find((e) => e.target_type === 'org' && e.target_id === upgrader.id);
    expect(orgEntry).toMatchObject({
      before: { subscriptionStatus: 'active', planKey: 'professional' },
      after: { subscriptionStatus: 'canceled', planKey: 'free' },
    });
    expect(await healedCount('subscription')).toBe(subsHealedBefore + 2);
    expect(await metrics.registry.metrics()).toMatch(
      new RegExp(`tollgate_reconcile_healed_total\\{kind="subscription"\\} ${subsHealedBefore + 2}`),
    );

    // The host product hears about the changes it missed: one subscription.updated per healed subscription.
    const sent = await outgoingSubscriptionUpdates();
    expect(sent.map((d) => d.org_id).sort()).toEqual([buyer.id, upgrader.id].sort());
    expect(JSON.stringify(sent.find((d) => d.org_id === buyer.id)!.payload)).toContain(
      '"cancel_at_period_end":true',
    );

    // The run scheduled the next slot (in the future, once).
    const queued = await withSystemTx(t.db.database, (tx) =>
      tx.select().from(jobs).where(eq(jobs.task, 'reconcile.drift')),
    );
    const next = queued.filter((j) => j.status === 'queued');
    expect(next).toHaveLength(1);
    expect(next[0]!.runAt.getTime()).toBeGreaterThan(t.deps.clock.nowMs());
    expect(await scheduleDriftCheck(t.deps)).toBe(next[0]!.id);
    expect(await t.runJobs()).toBe(0);
  });

  it('a second check finds nothing left to heal; the restored database heals the same drift', async () => {
    const before = (
      await t.request('GET', '/v1/admin/audit-log?action=reconcile.healed&limit=100', {
        token: TEST_ADMIN_KEY,
      })
    ).body.data.length;
    await enqueueJobInSystemTx(t.db.database, reconcileDriftTask.job({ slot: 1 }));
    expect(await t.runJobs()).toBeGreaterThanOrEqual(1);
    const after = (
      await t.request('GET', '/v1/admin/audit-log?action=reconcile.healed&limit=100', {
        token: TEST_ADMIN_KEY,
      })
    ).body.data.length;
    expect(after).toBe(before);
    expect(await outgoingSubscriptionUpdates()).toHaveLength(2);

    const again = await syncAll(restored.deps);
    expect(again.orgs.flatMap((o) => o.differences.map((d) => `${d.kind}:${d.id}`))).toEqual(
      expect.arrayContaining([
        `subscription:${buyerSub}`,
        `subscription:${upgraderSub}`,
        `org:${upgrader.id}`,
      ]),
    );
    expect(await projection(restored.db.database)).toEqual(await projection(t.db.database));

    // And a third, empty database restored after the drift: the org whose subscriptions all
    // ended points at its newest one, as it does in the database that lived through it.
    const third = await startTestApp({}, { emulator: t.emulator });
    try {
      await seedCatalog(third);
      await syncAll(third.deps);
      expect(await projection(third.db.database)).toEqual(await projection(t.db.database));
    } finally {
      await third.close();
    }
  });

  it('a renewal that failed without a webhook makes the org past due; the payment recovers it', async () => {
    const org = async () =>
      (
        await withSystemTx(t.db.database, (tx) =>
          tx.select().from(organizations).where(eq(organizations.id, cardOnly.id)),
        )
      )[0]!;
    const hooks = await t.request('POST', '/v1/admin/webhook-endpoints', {
      token: TEST_ADMIN_KEY,
      body: { url: 'http://127.0.0.1:9/billing-hooks', events: ['payment.failed', 'payment.recovered'] },
    });
    expect(hooks.status, JSON.stringify(hooks.body)).toBe(201);
    const sub = await subscribe(cardOnly, 'enterprise');
    const customer = (await org()).stripeCustomerId!;
    const good = sub.default_payment_method.id as string;
    const bad = await t.deps.stripe.paymentMethods.attach('pm_card_chargeCustomerFail', { customer });
    await t.deps.stripe.subscriptions.update(sub.id, { default_payment_method: bad.id });
    await advanceBoth(t, 32 * DAY);
    const stripeSub = await t.deps.stripe.subscriptions.retrieve(sub.id);
    expect(stripeSub.status).toBe('past_due');
    expect((await org()).billingState).toBe('ok');

    await enqueueJobInSystemTx(t.db.database, reconcileDriftTask.job({ slot: 2 }));
    await t.runJobs();
    const pastDue = await org();
    expect(pastDue).toMatchObject({ billingState: 'past_due', subscriptionStatus: 'past_due' });
    expect(pastDue.paymentFailureReason).toMatch(/declin/i);
    expect(pastDue.graceEndsAt!.getTime()).toBeGreaterThan(t.deps.clock.nowMs());
    const deliveries = async (type: string) =>
      (
        await t.request('GET', `/v1/admin/webhook-deliveries?event_type=${type}&org_id=${cardOnly.id}`, {
          token: TEST_ADMIN_KEY,
        })
      ).body.data as unknown[];
    expect(await deliveries('payment.failed')).toHaveLength(1);

    await t.deps.stripe.subscriptions.update(sub.id, { default_payment_method: good });
    await t.deps.stripe.invoices.pay(stripeSub.latest_invoice as string, { payment_method: good });
    expect((await t.deps.stripe.subscriptions.retrieve(sub.id)).status).toBe('active');
    await enqueueJobInSystemTx(t.db.database, reconcileDriftTask.job({ slot: 3 }));
    await t.runJobs();
    expect(await org()).toMatchObject({
      billingState: 'ok',
      subscriptionStatus: 'active',
      paymentFailureReason: null,
    });
    expect(await deliveries('payment.recovered')).toHaveLength(1);
    expect(await deliveries('payment.failed')).toHaveLength(1);
  });
});

const CLI = fileURLToPath(new URL('../bin/tollgate.mjs', import.meta.url));

/** The real CLI against this test's emulator and a PGlite directory of its own. */
function runCli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, TOLLGATE_DEMO: 'false', STRIPE_SECRET_KEY: TEST_STRIPE_KEY, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('tollgate sync / reconcile (CLI)', () => {
  it('syncs every org into a new database, then finds nothing to change; Stripe down exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-sync-'));
    try {
      const env = { STRIPE_API_BASE: t.emulator.url, PGLITE_DATA_DIR: dir };
      const first = await runCli(['sync', '--json'], env);
      expect(first.code, first.stderr).toBe(0);
      const result = JSON.parse(first.stdout);
      expect(result.orgs.map((o: { orgId: string }) => o.orgId).sort()).toEqual(
        [buyer.id, upgrader.id, school.id, cardOnly.id].sort(),
      );
      expect(result.orgs.every((o: { created: boolean }) => o.created)).toBe(true);

      const second = await runCli(['sync'], env);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toContain('Synced 4 org(s) from Stripe; 0 projection change(s).');
      const check = await runCli(['reconcile', '--json'], env);
      expect(check.code, check.stderr).toBe(0);
      expect(JSON.parse(check.stdout)).toMatchObject({ orgs: 4, healed: 0, failed: [] });

      const down = await runCli(['sync'], { STRIPE_API_BASE: 'http://127.0.0.1:9', PGLITE_DATA_DIR: dir });
      expect(down.code).toBe(2);
      expect((await runCli(['sync', '--everything'], env)).code).toBe(64);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
