import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSystemTx } from '../src/db/tx.ts';
import { estimateCharge, usageIdentifier } from '../src/modules/metered-usage/meteredProducts.ts';
import { scheduleUsageReport } from '../src/modules/metered-usage/reportUsageTask.ts';
import { advanceBoth, seedCatalog } from './catalogFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, type TestApp } from './harness.ts';

let t: TestApp;
const DAY = 86_400;

beforeAll(async () => {
  t = await startTestApp();
  await seedCatalog(t);
});
afterAll(() => t.close());

const usage = (o: TestOrg) => `/v1/orgs/${o.id}/usage`;
const track = (o: TestOrg, body: Record<string, unknown>) =>
  t.request('POST', usage(o), { token: o.key, body });

async function subscribed(plan = 'professional', interval = 'month') {
  const org = await createTestOrg(t);
  const pm = await t.request('POST', `/v1/orgs/${org.id}/payment-methods`, {
    token: org.key,
    body: { payment_method_id: 'pm_card_visa' },
  });
  expect(pm.status).toBe(201);
  const res = await t.request('POST', `/v1/orgs/${org.id}/subscription`, {
    token: org.key,
    body: { plan, interval },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return org;
}

describe('estimateCharge', () => {
  it('quantity × decimal unit price, rounded half up to minor units', () => {
    expect(estimateCharge(7, '5')).toBe(35);
    expect(estimateCharge(15, '0.1')).toBe(2); // 1.5 → 2
    expect(estimateCharge(14, '0.1')).toBe(1);
    expect(estimateCharge(3, '0.333333333333')).toBe(1);
    expect(estimateCharge(0, '5')).toBe(0);
  });
});

describe('metered add-ons', () => {
  it('refuses an org without a paid subscription, an unknown add-on and direct overage', async () => {
    const free = await createTestOrg(t);
    const res = await track(free, { addon: 'sms', quantity: 1, idempotency_key: 'k1' });
    expect(res.status).toBe(409);
    expect(res.body.error.details.field).toBe('addon');
    const org = await subscribed();
    const unknown = await track(org, { addon: 'fax', quantity: 1, idempotency_key: 'k1' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details.issues[0].field).toBe('addon');
    const overage = await track(org, { addon: 'credit_overage', quantity: 1, idempotency_key: 'k1' });
    expect(overage.status).toBe(400);
    const zero = await track(org, { addon: 'sms', quantity: 0, idempotency_key: 'k1' });
    expect(zero.status).toBe(400);
    const yearly = await subscribed('basic', 'year');
    expect((await track(yearly, { addon: 'sms', quantity: 1, idempotency_key: 'k1' })).status).toBe(409);
  });

  it('idempotent by key: a replay returns the first record; a different body is a 409', async () => {
    const org = await subscribed();
    const first = await track(org, { addon: 'email', quantity: 3, idempotency_key: 'mail-1' });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.usage).toMatchObject({ addon: 'email', quantity: 3, replayed: false });
    const again = await track(org, { addon: 'email', quantity: 3, idempotency_key: 'mail-1' });
    expect(again.body.usage).toEqual({ ...first.body.usage, replayed: true });
    const clash = await track(org, { addon: 'email', quantity: 4, idempotency_key: 'mail-1' });
    expect(clash.status).toBe(409);
    const concurrent = await Promise.all(
      Array.from({ length: 10 }, () => track(org, { addon: 'sms', quantity: 2, idempotency_key: 'sms-c' })),
    );
    expect(new Set(concurrent.map((r) => r.body.usage.id)).size).toBe(1);
    expect(concurrent.filter((r) => !r.body.usage.replayed)).toHaveLength(1);
  });

  it('reported to Stripe meters once, billed on the next invoice with the right amounts (and overage)', async () => {
    const org = await subscribed('enterprise'); // no trial: the first renewal is a paid invoice
    for (let i = 0; i < 7; i++)
      expect((await track(org, { addon: 'sms', quantity: 1, idempotency_key: `sms-${i}` })).status).toBe(200);
    await track(org, { addon: 'webhook_call', quantity: 15, idempotency_key: 'wh-1' });
    // The credits ledger records overage like this (fixture: the ledger is not on this branch).
    await withSystemTx(t.deps.database, (tx) =>
      tx.execute(sql`
        INSERT INTO metered_usage (id, org_id, addon_key, meter_event_name, quantity, identifier, occurred_at)
        VALUES ('mu_fixture_overage_1', ${org.id}, 'credit_overage', 'tollgate_credit_overage', 40,
                ${usageIdentifier(org.id, 'overage-1')}, ${t.deps.clock.now().toISOString()})`),
    );
    await advanceBoth(t, 10);
    await t.runJobs();
    await t.runJobs(); // a second run (e.g. another worker) reports nothing twice
    const summary = await t.request('GET', usage(org), { token: org.member.jwt });
    expect(summary.status).toBe(200);
    const line = (k: string) => summary.body.data.find((l: { addon: string }) => l.addon === k);
    expect(line('sms')).toMatchObject({
      quantity: 7,
      reported_quantity: 7,
      estimated_charge: 35,
      stripe_quantity: 7,
    });
    expect(line('webhook_call')).toMatchObject({ quantity: 15, estimated_charge: 2, stripe_quantity: 15 });
    expect(line('credit_overage')).toMatchObject({ quantity: 40, estimated_charge: 40, stripe_quantity: 40 });
    expect(line('email')).toMatchObject({ quantity: 0, estimated_charge: 0 });
    expect(summary.body.estimated_total).toBe(77);

    const customer = (await t.request('GET', `/v1/orgs/${org.id}`, { token: org.key })).body
      .stripe_customer_id;
    const [stripeSub] = (await t.deps.stripe.subscriptions.list({ customer })).data;
    const metered = stripeSub!.items.data.filter((i) => i.price.recurring?.usage_type === 'metered');
    expect(metered.map((i) => i.price.lookup_key).sort()).toEqual([
      'tg_metered_credit_overage',
      'tg_metered_sms',
      'tg_metered_webhook_call',
    ]);
    // The plan still reads as the plan, whatever order the items come in.
    const sub = await t.request('GET', `/v1/orgs/${org.id}/subscription`, { token: org.key });
    expect(sub.body).toMatchObject({ plan: 'enterprise', status: 'active' });

    await advanceBoth(t, 31 * DAY);
    await t.runJobs();
    const invoices = await t.deps.stripe.invoices.list({ customer, limit: 10 });
    const renewal = invoices.data.find((i) => i.billing_reason === 'subscription_cycle');
    expect(renewal, JSON.stringify(invoices.data.map((i) => i.billing_reason))).toBeDefined();
    const lines = await t.deps.stripe.invoices.listLineItems(renewal!.id, { limit: 100 });
    const all = lines.data.map((l) => ({ amount: l.amount, description: l.description }));
    expect(
      all.some((l) => l.amount === 35),
      JSON.stringify(all),
    ).toBe(true);
    expect(
      all.some((l) => l.amount === 40),
      JSON.stringify(all),
    ).toBe(true);
    expect(
      all.some((l) => l.amount === 2),
      JSON.stringify(all),
    ).toBe(true);
    expect(renewal!.total).toBe(19900 + 35 + 2 + 40);
  });

  it('plan changes keep the metered items: preview, scheduled downgrade, renewal', async () => {
    const org = await subscribed('enterprise');
    await track(org, { addon: 'sms', quantity: 4, idempotency_key: 'dg-1' });
    await advanceBoth(t, 10);
    await t.runJobs();
    const preview = await t.request('POST', `/v1/orgs/${org.id}/subscription/preview`, {
      token: org.key,
      body: { plan: 'basic' },
    });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(preview.body).toMatchObject({ change: 'downgrade', amount_due_now: 0 });
    const res = await t.request('PATCH', `/v1/orgs/${org.id}/subscription`, {
      token: org.key,
      body: { plan: 'basic' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.subscription).toMatchObject({ plan: 'enterprise', pending_change: { plan: 'basic' } });
    const periodEnd = new Date(res.body.subscription.current_period_end).getTime();
    await advanceBoth(t, Math.ceil((periodEnd - t.deps.clock.nowMs()) / 1000) + 2 * 3_600);
    await t.runJobs();
    const after = await t.request('GET', `/v1/orgs/${org.id}/subscription`, { token: org.key });
    expect(after.body).toMatchObject({ plan: 'basic', status: 'active', pending_change: null });
    const customer = (await t.request('GET', `/v1/orgs/${org.id}`, { token: org.key })).body
      .stripe_customer_id;
    const live = (await t.deps.stripe.subscriptions.list({ customer })).data[0]!;
    expect(live.items.data.map((i) => i.price.lookup_key).sort()).toEqual([
      'tg_basic_monthly',
      'tg_metered_sms',
    ]);
    const invoices = await t.deps.stripe.invoices.list({ customer, limit: 10 });
    const renewal = invoices.data.find((i) => i.billing_reason === 'subscription_cycle')!;
    const lines = await t.deps.stripe.invoices.listLineItems(renewal.id, { limit: 100 });
    expect(lines.data.map((l) => l.amount).sort((a, b) => a - b)).toEqual([20, 2900]);
  });

  it('a lost answer or a failing Stripe: retried with backoff by the minutely run, counted once', async () => {
    const org = await subscribed('enterprise');
    await scheduleUsageReport(t.deps);
    // Stripe records the event but the answer never arrives.
    t.emulator.control.injectFault({
      kind: 'drop',
      method: 'POST',
      path: '/v1/billing/meter_events',
      count: 1,
      phase: 'after',
    });
    await track(org, { addon: 'sms', quantity: 3, idempotency_key: 'lost-1' });
    await advanceBoth(t, 10);
    await t.runJobs();
    // Then Stripe fails outright for a while.
    t.emulator.control.injectFault({
      kind: 'error',
      method: 'POST',
      path: '/v1/billing/meter_events',
      count: 100,
    });
    await track(org, { addon: 'sms', quantity: 2, idempotency_key: 'err-1' });
    await advanceBoth(t, 10);
    await t.runJobs();
    const [failed] = await t.deps.database.query<{
      reported_at: Date | null;
      report_attempts: number;
      last_error: string;
    }>(`SELECT reported_at, report_attempts, last_error FROM metered_usage WHERE idempotency_key = 'err-1'`);
    expect(failed).toMatchObject({ reported_at: null });
    expect(failed!.report_attempts).toBeGreaterThanOrEqual(1);
    expect(failed!.last_error).toBeTruthy();
    t.emulator.control.clearFaults();
    for (let i = 0; i < 3; i++) {
      await advanceBoth(t, 120);
      await t.runJobs();
    }
    // A worker that died after Stripe took the event but before recording it: sent again,
    // Stripe answers "already exists with identifier", and that counts as reported.
    await t.deps.database.query(
      `UPDATE metered_usage SET reported_at = NULL, next_report_at = now() - interval '1 day'
        WHERE idempotency_key = 'lost-1'`,
    );
    await advanceBoth(t, 120);
    await t.runJobs();
    const [again] = await t.deps.database.query<{ reported_at: Date | null; last_error: string | null }>(
      `SELECT reported_at, last_error FROM metered_usage WHERE idempotency_key = 'lost-1'`,
    );
    expect(again!.reported_at).not.toBeNull();
    expect(again!.last_error).toBeNull();
    const summary = await t.request('GET', usage(org), { token: org.key });
    const sms = summary.body.data.find((l: { addon: string }) => l.addon === 'sms');
    expect(sms).toMatchObject({
      quantity: 5,
      reported_quantity: 5,
      stripe_quantity: 5,
      estimated_charge: 25,
    });
  });
});
