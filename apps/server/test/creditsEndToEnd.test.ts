import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emails, outgoingDeliveries } from '../src/db/schema/index.ts';
import { withSystemTx } from '../src/db/tx.ts';
import { seedCatalog } from './catalogFixture.ts';
import { checkInvariants } from './creditInvariants.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, type TestApp } from './harness.ts';

/**
 * The credit features together, through the real paths only: a subscription's paid invoice
 * grants the allocation, consumption over HTTP crosses the low-balance and auto top-up
 * thresholds, the alert is stored, emailed and sent as a webhook once, the top-up charges the
 * card off-session, and the pack arrives through Stripe's webhook as one grant.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  await seedCatalog(t);
  t.enableStripeWebhooks();
});
afterAll(() => t.close());

async function settle() {
  for (let i = 0; i < 3; i++) {
    await t.emulator.control.waitForDeliveries();
    await t.processEvents();
    await t.runJobs();
  }
}
const credits = async (o: TestOrg) =>
  (await t.request('GET', `/v1/orgs/${o.id}/credits`, { token: o.key })).body;
const consume = (o: TestOrg, key: string, event = 'ai_inference', quantity = 1) =>
  t.request('POST', `/v1/orgs/${o.id}/credits/consume`, {
    token: o.key,
    body: { event, quantity, idempotency_key: key },
  });

describe('credits end to end', () => {
  it('allocation → consumption → one low-balance alert (webhook + email) → one auto top-up → one pack grant', async () => {
    const org = await createTestOrg(t, 'E2E Credits');
    const pm = await t.request('POST', `/v1/orgs/${org.id}/payment-methods`, {
      token: org.key,
      body: { payment_method_id: 'pm_card_visa' },
    });
    expect(pm.status).toBe(201);
    await t.request('PATCH', `/v1/orgs/${org.id}`, {
      token: org.key,
      body: { billing_email: 'billing@e2e.example' },
    });
    const sub = await t.request('POST', `/v1/orgs/${org.id}/subscription`, {
      token: org.key,
      body: { plan: 'basic' },
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    await settle();
    // Basic allocates 1,000 credits per period, granted once the first invoice is paid.
    expect((await credits(org)).balance).toBe(1000);

    const settings = await t.request('PUT', `/v1/orgs/${org.id}/credits/settings`, {
      token: org.key,
      body: {
        low_balance: { threshold: 300 },
        auto_top_up: { enabled: true, threshold: 200, pack: 'credits_1k' },
      },
    });
    expect(settings.status, JSON.stringify(settings.body)).toBe(200);

    // 33 × 25 credits = 825: the balance falls through 300 (alert) and 200 (top-up) to 175.
    const results = await Promise.all(Array.from({ length: 33 }, (_, i) => consume(org, `e2e-${i}`)));
    expect(results.map((r) => r.status)).toEqual(Array(33).fill(200));
    // Replays change nothing.
    const replays = await Promise.all(Array.from({ length: 5 }, (_, i) => consume(org, `e2e-${i}`)));
    expect(replays.every((r) => r.body.consumption.replayed === true)).toBe(true);
    expect((await credits(org)).balance).toBe(175);

    await settle();
    const alerts = (await t.request('GET', `/v1/orgs/${org.id}/credits/alerts`, { token: org.key })).body
      .data;
    expect(alerts.filter((a: { kind: string }) => a.kind === 'low_balance')).toHaveLength(1);
    expect(alerts.filter((a: { kind: string }) => a.kind === 'auto_top_up_failed')).toHaveLength(0);

    // The pack bought off-session arrived through payment_intent.succeeded / Stripe's events: once.
    const after = await credits(org);
    expect(after.balance).toBe(1175);
    const packs = after.grants.filter((g: { source: string }) => g.source === 'pack');
    expect(packs).toHaveLength(1);
    expect(packs[0]).toMatchObject({ amount: 1000, expires_at: null });
    // The grant released the top-up claim: the next fall below the threshold may buy again.
    const s = await t.request('GET', `/v1/orgs/${org.id}/credits/settings`, { token: org.key });
    expect(s.body.auto_top_up.in_flight).toBeNull();

    const { sent, deliveries } = await withSystemTx(t.deps.database, async (tx) => ({
      sent: await tx.select().from(emails).where(eq(emails.orgId, org.id)),
      deliveries: await tx
        .select({ type: outgoingDeliveries.eventType })
        .from(outgoingDeliveries)
        .where(eq(outgoingDeliveries.orgId, org.id)),
    }));
    expect(sent.filter((e) => e.template === 'credits_low')).toHaveLength(1);
    expect(sent.find((e) => e.template === 'credits_low')!.to).toEqual(['billing@e2e.example']);
    // Deliveries exist only for registered endpoints; none here, so the alert's own record suffices.
    expect(deliveries.filter((d) => d.type === 'credits.low').length).toBeLessThanOrEqual(1);

    // Further consumption below the old threshold raises no second alert until re-armed.
    await consume(org, 'e2e-more', 'api_call_premium', 10);
    await settle();
    const again = (await t.request('GET', `/v1/orgs/${org.id}/credits/alerts`, { token: org.key })).body.data;
    expect(again.filter((a: { kind: string }) => a.kind === 'low_balance')).toHaveLength(1);
    await checkInvariants(t.deps.database, org.id);
  });
});
