import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advanceBoth, seedCatalog } from './catalogFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from './harness.ts';

let t: TestApp;
const DAY = 86_400;

beforeAll(async () => {
  t = await startTestApp();
  await seedCatalog(t);
});
afterAll(() => t.close());

const sub = (o: TestOrg, rest = '') => `/v1/orgs/${o.id}/subscription${rest}`;
async function withCard(name: string, pm = 'pm_card_visa') {
  const org = await createTestOrg(t, name);
  const res = await t.request('POST', `/v1/orgs/${org.id}/payment-methods`, {
    token: org.key,
    body: { payment_method_id: pm },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return org;
}
const stripeSubs = async (o: TestOrg) => {
  const customer = (await t.request('GET', `/v1/orgs/${o.id}`, { token: o.key })).body
    .stripe_customer_id as string;
  return (await t.deps.stripe.subscriptions.list({ customer, status: 'all' })).data;
};

describe('subscriptions', () => {
  it('a free org has no subscription and needs none', async () => {
    const org = await createTestOrg(t, 'Free Co');
    const res = await t.request('GET', sub(org), { token: org.member.jwt });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ plan: 'free', status: 'none', id: null });
    const free = await t.request('POST', sub(org), { token: org.key, body: { plan: 'free' } });
    expect(free.status).toBe(400);
    expect(free.body.error.details.issues[0].field).toBe('plan');
  });

  it('subscribing with a good card: active at once, with plan, seats, period and card', async () => {
    const org = await withCard('Enterprise Co');
    const res = await t.request('POST', sub(org), {
      token: org.admin.jwt,
      body: { plan: 'enterprise', interval: 'month' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.requires_action).toBe(false);
    expect(res.body.subscription).toMatchObject({
      plan: 'enterprise',
      interval: 'month',
      status: 'active',
      seats: 1,
    });
    expect(res.body.subscription.default_payment_method).toMatchObject({ brand: 'visa', last4: '4242' });
    const s = (await stripeSubs(org))[0]!;
    expect(s.items.data[0]!.price.unit_amount).toBe(19900);
    const end = new Date(res.body.subscription.current_period_end).getTime() / 1000;
    expect(end).toBe(s.items.data[0]!.current_period_end);
    const again = await t.request('POST', sub(org), { token: org.key, body: { plan: 'basic' } });
    expect(again.status).toBe(409);
  });

  it('the first subscription to a trial plan trials; the org never gets a second trial', async () => {
    const org = await createTestOrg(t, 'Trial Co');
    const res = await t.request('POST', sub(org), { token: org.key, body: { plan: 'basic' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.subscription.status).toBe('trialing');
    expect(new Date(res.body.subscription.trial_end).getTime()).toBeGreaterThan(
      t.deps.clock.nowMs() + 13 * DAY * 1000,
    );
    const ended = await t.request('POST', sub(org, '/cancel-now'), { token: TEST_ADMIN_KEY, body: {} });
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);
    await t.request('POST', `/v1/orgs/${org.id}/payment-methods`, {
      token: org.key,
      body: { payment_method_id: 'pm_card_visa' },
    });
    const second = await t.request('POST', sub(org), { token: org.key, body: { plan: 'basic' } });
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect(second.body.subscription.status).toBe('active');
    expect(second.body.subscription.trial_end).toBeNull();
  });

  it('a declined card: 402 with the reason, and nothing stays live', async () => {
    const org = await withCard('Declined Co', 'pm_card_chargeCustomerFail');
    const res = await t.request('POST', sub(org), { token: org.key, body: { plan: 'enterprise' } });
    expect(res.status).toBe(402);
    expect(res.body.error.code).toBe('card_declined');
    expect(res.body.error.details.decline_code).toBeTruthy();
    expect((await t.request('GET', sub(org), { token: org.key })).body.status).toBe('none');
    expect(
      (await stripeSubs(org)).every(
        (s) => !['active', 'incomplete', 'trialing', 'past_due'].includes(s.status),
      ),
    ).toBe(true);
    // A new card then works: the failed attempt does not block the org.
    await t.request('POST', `/v1/orgs/${org.id}/payment-methods`, {
      token: org.key,
      body: { payment_method_id: 'pm_card_visa', set_default: true },
    });
    const ok = await t.request('POST', sub(org), { token: org.key, body: { plan: 'enterprise' } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body.subscription.status).toBe('active');
  });

  it('a card that needs 3-D Secure: requires_action and the client secret reach the caller', async () => {
    const org = await withCard('3DS Co', 'pm_card_threeDSecure2Required');
    const res = await t.request('POST', sub(org), { token: org.key, body: { plan: 'enterprise' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.requires_action).toBe(true);
    expect(res.body.client_secret).toMatch(/^pi_.+_secret_/);
    expect(res.body.subscription.status).toBe('incomplete');
    const pi = res.body.client_secret.split('_secret_')[0];
    await t.emulator.control.authenticate(pi, 'succeed');
    // The next read sees Stripe's new state (the projection refreshes an incomplete subscription).
    const after = await t.request('GET', sub(org), { token: org.key });
    expect(after.body.status).toBe('active');
  });

  it('ten concurrent subscribe calls for one org: one customer, one subscription', async () => {
    const org = await withCard('Race Co');
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.request('POST', sub(org), { token: org.key, body: { plan: 'enterprise' } }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(
      statuses.every((s) => s === 201 || s === 409),
      JSON.stringify(statuses),
    ).toBe(true);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.body.subscription.id));
    expect(ids.size).toBe(1);
    const customers = await t.deps.stripe.customers.search({
      query: `metadata['tollgate_org_id']:'${org.id}'`,
    });
    expect(customers.data).toHaveLength(1);
    expect(await stripeSubs(org)).toHaveLength(1);
  });

  it('an upgrade charges exactly the previewed proration, to the cent', async () => {
    const org = await withCard('Upgrade Co');
    // Use up the org's one trial first, so the next subscription is paid from day one.
    await t.request('POST', sub(org), { token: org.key, body: { plan: 'basic' } });
    await t.request('POST', sub(org, '/cancel-now'), { token: TEST_ADMIN_KEY, body: {} });
    const started = await t.request('POST', sub(org), { token: org.key, body: { plan: 'basic' } });
    expect(started.body.subscription.status).toBe('active');
    await advanceBoth(t, 10 * DAY + 3_600);

    const preview = await t.request('POST', sub(org, '/preview'), {
      token: org.member.jwt,
      body: { plan: 'professional' },
    });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(preview.body.change).toBe('upgrade');
    expect(preview.body.credit_for_unused_time).toBeGreaterThan(0);
    expect(preview.body.charge_for_new_plan).toBeGreaterThan(preview.body.credit_for_unused_time);
    expect(preview.body.amount_due_now).toBe(
      preview.body.charge_for_new_plan - preview.body.credit_for_unused_time,
    );
    expect(preview.body.next_invoice.total).toBe(7900);
    // Preview changed nothing.
    expect((await stripeSubs(org)).find((s) => s.status === 'active')!.items.data[0]!.price.unit_amount).toBe(
      2900,
    );

    await advanceBoth(t, 120); // the change happens a little later; proration_date pins the previewed second
    const changed = await t.request('PATCH', sub(org), {
      token: org.key,
      body: { plan: 'professional', proration_date: preview.body.proration_date },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body.subscription.plan).toBe('professional');
    const live = (await stripeSubs(org)).find((s) => s.status === 'active')!;
    const invoice = await t.deps.stripe.invoices.retrieve(live.latest_invoice as string);
    expect(invoice.billing_reason).toBe('subscription_update');
    expect(invoice.amount_paid).toBe(preview.body.amount_due_now);
  });

  it('a downgrade waits for the period end, can be undone, and applies when time gets there', async () => {
    const org = await withCard('Downgrade Co');
    await t.request('POST', sub(org), { token: org.key, body: { plan: 'enterprise' } });
    const preview = await t.request('POST', sub(org, '/preview'), {
      token: org.key,
      body: { plan: 'basic' },
    });
    expect(preview.body).toMatchObject({
      change: 'downgrade',
      amount_due_now: 0,
      next_invoice: { total: 2900 },
    });

    const res = await t.request('PATCH', sub(org), { token: org.key, body: { plan: 'basic' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.subscription.plan).toBe('enterprise');
    expect(res.body.subscription.pending_change).toMatchObject({
      plan: 'basic',
      effective_at: res.body.subscription.current_period_end,
    });

    const undone = await t.request('DELETE', sub(org, '/pending-change'), { token: org.key });
    expect(undone.status, JSON.stringify(undone.body)).toBe(200);
    expect(undone.body.pending_change).toBeNull();

    await t.request('PATCH', sub(org), { token: org.key, body: { plan: 'basic' } });
    const periodEnd = new Date(res.body.subscription.current_period_end).getTime();
    await advanceBoth(t, Math.ceil((periodEnd - t.deps.clock.nowMs()) / 1000) + 2 * 3_600);
    const after = await t.request('GET', sub(org), { token: org.key });
    expect(after.body).toMatchObject({ plan: 'basic', status: 'active', pending_change: null });
    const live = (await stripeSubs(org)).find((s) => s.status === 'active') as Stripe.Subscription;
    expect(live.items.data[0]!.price.unit_amount).toBe(2900);
  });

  it('cancel at period end, then resume', async () => {
    const org = await withCard('Cancel Co');
    await t.request('POST', sub(org), { token: org.key, body: { plan: 'enterprise' } });
    const member = await t.request('POST', sub(org, '/cancel'), { token: org.member.jwt, body: {} });
    expect(member.status).toBe(403);
    const c = await t.request('POST', sub(org, '/cancel'), { token: org.admin.jwt, body: {} });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ cancel_at_period_end: true, status: 'active' });
    const r = await t.request('POST', sub(org, '/resume'), { token: org.admin.jwt, body: {} });
    expect(r.body.cancel_at_period_end).toBe(false);
    const s = (await stripeSubs(org))[0]!;
    expect(s.cancel_at_period_end).toBe(false);
    const audit = (
      await t.request('GET', `/v1/orgs/${org.id}/audit-log?action=subscription.cancel_scheduled`, {
        token: org.key,
      })
    ).body;
    expect(audit.data).toHaveLength(1);
  });

  it('a 500 from Stripe on subscription create is retried without creating a duplicate', async () => {
    const org = await withCard('Flaky Co');
    t.emulator.control.injectFault({
      kind: 'error',
      method: 'POST',
      path: '/v1/subscriptions',
      count: 1,
      phase: 'after',
    });
    const res = await t.request('POST', sub(org), { token: org.key, body: { plan: 'enterprise' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(await stripeSubs(org)).toHaveLength(1);
  });

  it('Stripe unreachable: 503 with a retry hint, nothing half-written', async () => {
    const org = await withCard('Down Co');
    t.emulator.control.injectFault({ kind: 'error', method: 'POST', path: '/v1/subscriptions', count: 20 });
    const res = await t.request('POST', sub(org), { token: org.key, body: { plan: 'enterprise' } });
    t.emulator.control.clearFaults();
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('stripe_unavailable');
    expect(res.headers.get('retry-after')).toBe('5');
    expect((await t.request('GET', sub(org), { token: org.key })).body.status).toBe('none');
    expect(await stripeSubs(org)).toHaveLength(0);
    const later = await t.request('POST', sub(org), { token: org.key, body: { plan: 'enterprise' } });
    expect(later.status).toBe(201);
  });
});
