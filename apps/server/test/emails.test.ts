import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { organizations } from '../src/db/schema/index.ts';
import { withSystemTx } from '../src/db/tx.ts';
import { systemAudit } from '../src/modules/audit/recordAudit.ts';
import { enqueueCreditsLowEmail } from '../src/modules/emails/creditsLowEmail.ts';
import { createOrg } from '../src/modules/orgs/createOrg.ts';
import { scheduleDriftCheck } from '../src/modules/reconciliation/driftTask.ts';
import { advanceBoth, seedCatalog } from './catalogFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from './harness.ts';
import { type SmtpSink, startSmtpSink } from './smtpSink.ts';

let t: TestApp;
let smtp: SmtpSink;
const DAY = 86_400;

beforeAll(async () => {
  smtp = await startSmtpSink();
  t = await startTestApp({
    EMAIL_TRANSPORT: 'smtp',
    SMTP_URL: smtp.url,
    EMAIL_FROM: 'Billing <billing@saas.test>',
  });
  await seedCatalog(t);
  t.enableStripeWebhooks();
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

/** Everything a running deployment does on its own: deliver events, apply them, run jobs (sends). */
async function settle() {
  await t.emulator.control.waitForDeliveries();
  await t.processEvents();
  await t.runJobs();
}
const admin = (path: string) => t.request('GET', path, { token: TEST_ADMIN_KEY });
const outbox = async (q: string) => {
  const res = await admin(`/v1/admin/emails?limit=100&${q}`);
  expect(res.status, res.text).toBe(200);
  return res.body.data as {
    id: string;
    template: string;
    status: string;
    to: string[];
    subject: string;
    attempts: number;
    last_error: string | null;
  }[];
};
const receivedFor = (id: string) => smtp.received.filter((m) => m.id === id);

async function orgWithPlan(name: string, plan = 'enterprise') {
  const org = await createTestOrg(t, name);
  await t.request('POST', `/v1/orgs/${org.id}/payment-methods`, {
    token: org.key,
    body: { payment_method_id: 'pm_card_visa' },
  });
  const s = await t.request('POST', `/v1/orgs/${org.id}/subscription`, { token: org.key, body: { plan } });
  expect(s.status, JSON.stringify(s.body)).toBe(201);
  await settle();
  return org;
}
async function setDefaultCard(org: TestOrg, paymentMethod: string) {
  const res = await t.request('POST', `/v1/orgs/${org.id}/payment-methods`, {
    token: org.key,
    body: { payment_method_id: paymentMethod, set_default: true },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  await settle();
}
async function toRenewal(org: TestOrg) {
  const sub = (await t.request('GET', `/v1/orgs/${org.id}/subscription`, { token: org.key })).body;
  const periodEnd = new Date(sub.current_period_end).getTime() / 1000;
  await advanceBoth(t, Math.ceil(periodEnd - t.deps.clock.nowMs() / 1000) + 2 * 3_600);
  await settle();
}
/** The recurring drift check (which also announces ended grace periods), run as the worker runs it. */
async function runRecurringCheck() {
  await scheduleDriftCheck(t.deps);
  await advanceBoth(t, 61 * 60); // both clocks, so later renewals land where the test expects
  await settle();
}
async function replayAllEvents() {
  const replay = await t.request('POST', '/v1/admin/stripe-events/replay', {
    token: TEST_ADMIN_KEY,
    body: { status: 'applied' },
  });
  expect(replay.status, replay.text).toBe(200);
  expect(replay.body.replayed).toBeGreaterThan(0);
  await t.processEvents();
  await t.runJobs();
}

describe('billing emails', () => {
  it('failed renewal → one "payment failed" email; grace over → one "access restricted"; recovery → one "payment received"', async () => {
    const org = await orgWithPlan('Dunning Mail Co');
    await setDefaultCard(org, 'pm_card_chargeCustomerFail');
    await toRenewal(org);

    const [failed, ...more] = await outbox(`org_id=${org.id}&template=payment_failed`);
    expect(more).toEqual([]);
    expect(failed).toMatchObject({ status: 'sent', to: ['billing@dunningmailco.test'], attempts: 1 });
    const got = receivedFor(failed!.id);
    expect(got).toHaveLength(1);
    expect(got[0]!.to).toEqual(['billing@dunningmailco.test']);
    expect(got[0]!.from).toBe('billing@saas.test');
    expect(got[0]!.subject).toBe('Payment failed for Dunning Mail Co');
    const detail = (await admin(`/v1/admin/emails/${failed!.id}`)).body;
    expect(detail.text).toMatch(/We could not collect \$\d[\d,]*\.\d\d for invoice/);
    expect(detail.text).toContain('(generic decline)');
    expect(detail.text).toMatch(/Your access continues until \d+ \w{3} \d{4}/);
    expect(detail.text).toContain(`${t.url}/?org=${org.id}`);
    expect(detail.html).toContain('<a href="');

    // Every event delivered again (an operator's replay) sends nothing more.
    const sent = smtp.received.length;
    await replayAllEvents();
    expect(smtp.received.length).toBe(sent);

    // Stripe keeps retrying and failing; each retry is its own failure (a new attempt) but the
    // grace period ends once: "access restricted" is announced once, however often the check runs.
    await advanceBoth(t, 8 * DAY);
    await settle();
    await runRecurringCheck();
    await runRecurringCheck();
    const restricted = await outbox(`org_id=${org.id}&template=access_restricted`);
    expect(restricted).toHaveLength(1);
    expect(restricted[0]!.status).toBe('sent');
    expect(receivedFor(restricted[0]!.id)).toHaveLength(1);

    const good = (
      await t.request('GET', `/v1/orgs/${org.id}/payment-methods`, { token: org.key })
    ).body.data.find((c: { last4: string }) => c.last4 === '4242');
    await t.request('POST', `/v1/orgs/${org.id}/payment-methods/${good.id}/default`, {
      token: org.key,
      body: {},
    });
    await advanceBoth(t, 2 * DAY);
    await settle();
    const recovered = await outbox(`org_id=${org.id}&template=payment_recovered`);
    expect(recovered).toHaveLength(1);
    expect(receivedFor(recovered[0]!.id)).toHaveLength(1);
    expect(receivedFor(recovered[0]!.id)[0]!.subject).toBe('Payment received for Dunning Mail Co');

    // Each failed attempt was one email, each received exactly once.
    const failures = await outbox(`org_id=${org.id}&template=payment_failed`);
    expect(failures.length).toBeGreaterThanOrEqual(2);
    for (const f of failures) expect(receivedFor(f.id)).toHaveLength(1);
    await replayAllEvents();
    await runRecurringCheck();
    expect(await outbox(`org_id=${org.id}`)).toHaveLength(failures.length + 2);
  });

  it('a renewal that needs 3-D Secure → one "action required" email with the hosted invoice link', async () => {
    const org = await orgWithPlan('Secure Mail Co');
    await setDefaultCard(org, 'pm_card_authenticationRequired');
    await toRenewal(org);
    const rows = await outbox(`org_id=${org.id}&template=payment_action_required`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe('sent');
    const detail = (await admin(`/v1/admin/emails/${rows[0]!.id}`)).body;
    const sub = (await t.request('GET', `/v1/orgs/${org.id}/subscription`, { token: org.key })).body;
    expect(sub.billing_state).toBe('action_required');
    expect(sub.payment_action_url).toBeTruthy();
    expect(detail.text).toContain(`Confirm the payment: ${sub.payment_action_url}`);
    expect(receivedFor(rows[0]!.id)).toHaveLength(1);
    await replayAllEvents();
    expect(receivedFor(rows[0]!.id)).toHaveLength(1);
    expect(await outbox(`org_id=${org.id}&template=payment_action_required`)).toHaveLength(1);
  });

  it('a trial about to end → one "trial ending" email, however often the event arrives', async () => {
    const org = await orgWithPlan('Trial Mail Co', 'basic');
    await advanceBoth(t, 12 * DAY);
    await settle();
    const rows = await outbox(`org_id=${org.id}&template=trial_ending`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.subject).toMatch(/^Your trial ends on \d+ \w{3} \d{4}$/);
    expect(receivedFor(rows[0]!.id)).toHaveLength(1);
    await replayAllEvents();
    expect(receivedFor(rows[0]!.id)).toHaveLength(1);
    expect(await outbox(`org_id=${org.id}&template=trial_ending`)).toHaveLength(1);
  });

  it('a transient SMTP failure is retried with backoff; the email arrives once', async () => {
    const org = await createTestOrg(t, 'Retry Mail Co');
    smtp.failNext(1);
    const queued = await withSystemTx(t.db.database, (tx) =>
      enqueueCreditsLowEmail(tx, t.deps.env, {
        causeKey: `alert-1:${org.id}`,
        orgId: org.id,
        balance: 90,
        threshold: 100,
      }),
    );
    expect(queued?.status).toBe('pending');
    // The same cause again (a retried alert check) writes nothing.
    expect(
      await withSystemTx(t.db.database, (tx) =>
        enqueueCreditsLowEmail(tx, t.deps.env, {
          causeKey: `alert-1:${org.id}`,
          orgId: org.id,
          balance: 80,
          threshold: 100,
        }),
      ),
    ).toBeNull();
    await t.runJobs();
    let [row] = await outbox(`org_id=${org.id}`);
    expect(row).toMatchObject({ status: 'pending', attempts: 1 });
    expect(row!.last_error).toMatch(/451/);
    expect(receivedFor(row!.id)).toHaveLength(0);

    await t.runJobs(); // the retry is not due yet (backoff)
    expect(receivedFor(row!.id)).toHaveLength(0);
    t.deps.clock.advance(5 * 60_000);
    await t.runJobs();
    [row] = await outbox(`org_id=${org.id}`);
    expect(row).toMatchObject({ status: 'sent', attempts: 2, last_error: null, template: 'credits_low' });
    expect(receivedFor(row!.id)).toHaveLength(1);
    expect(receivedFor(row!.id)[0]!.subject).toBe('Credits running low for Retry Mail Co');
  });

  it('recipients: the billing email, else owners and admins; nobody → skipped and visible to operators', async () => {
    const org = await createTestOrg(t, 'Fallback Mail Co');
    await withSystemTx(t.db.database, (tx) =>
      tx.update(organizations).set({ billingEmail: null }).where(eq(organizations.id, org.id)),
    );
    const fallback = await withSystemTx(t.db.database, (tx) =>
      enqueueCreditsLowEmail(tx, t.deps.env, {
        causeKey: `alert-2:${org.id}`,
        orgId: org.id,
        balance: 1,
        threshold: 10,
      }),
    );
    expect(fallback?.to).toEqual([`owner@${org.id}.test`, `admin@${org.id}.test`]);

    const lonely = await createOrg(t.deps, systemAudit(), { name: 'Nobody Co' });
    const skipped = await withSystemTx(t.db.database, (tx) =>
      enqueueCreditsLowEmail(tx, t.deps.env, {
        causeKey: `alert-3:${lonely.id}`,
        orgId: lonely.id,
        balance: 1,
        threshold: 10,
      }),
    );
    expect(skipped).toMatchObject({ status: 'skipped', to: [] });
    await t.runJobs();
    const [row] = await outbox(`org_id=${lonely.id}`);
    expect(row).toMatchObject({ status: 'skipped', attempts: 0 });
    expect(row!.last_error).toMatch(/no recipient/);
    expect(receivedFor(row!.id)).toHaveLength(0);
    expect((await outbox('status=skipped')).map((e) => e.id)).toContain(row!.id);
  });

  it('the outbox is for operators only, and its filters are validated', async () => {
    const org = await createTestOrg(t, 'Nosy Co');
    expect((await t.request('GET', '/v1/admin/emails')).status).toBe(401);
    expect((await t.request('GET', '/v1/admin/emails', { token: org.key })).status).toBe(403);
    const bad = await admin('/v1/admin/emails?status=lost');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error)).toContain('status');
    expect((await admin('/v1/admin/emails/eml_000000000000000000000000')).status).toBe(404);
  });
});
