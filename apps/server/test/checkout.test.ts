import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTollgateClient, TollgateError } from '../../../packages/client/src/index.ts';
import { seedCatalog } from './catalogFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from './harness.ts';

const APP = 'https://app.example.test';
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ ALLOWED_REDIRECT_ORIGINS: `${APP}, https://admin.example.test` });
  await seedCatalog(t);
});
afterAll(() => t.close());

const checkoutPath = (o: TestOrg, rest = '') => `/v1/orgs/${o.id}/checkout-sessions${rest}`;
const urls = {
  success_url: `${APP}/billing/done?session_id={CHECKOUT_SESSION_ID}`,
  cancel_url: `${APP}/billing`,
};

async function startCheckout(
  o: TestOrg,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return t.request('POST', checkoutPath(o), { token: o.admin.jwt, body: { ...urls, ...body }, headers });
}

/** What a browser does on Stripe's hosted page: fill in a card and press Pay. */
async function payOnHostedPage(url: string, card = '4242 4242 4242 4242') {
  const page = await fetch(url);
  expect(page.status).toBe(200);
  return fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      email: 'payer@example.test',
      name: 'Pat Payer',
      card_number: card,
      exp: '12/34',
      cvc: '123',
    }).toString(),
  });
}

const lineItems = (id: string) => t.deps.stripe.checkout.sessions.listLineItems(id);
const planPrice = async (plan: string, interval: 'month' | 'year') => {
  const plans = (await t.request('GET', '/v1/plans')).body.data as {
    key: string;
    prices: { id: string; interval: string; amount: number }[];
  }[];
  return plans.find((p) => p.key === plan)!.prices.find((p) => p.interval === interval)!;
};
const customerOf = async (o: TestOrg) =>
  (await t.request('GET', `/v1/orgs/${o.id}`, { token: o.key })).body.stripe_customer_id as string;

describe('billing config', () => {
  it('is public and tells Stripe.js the publishable key, the mode and where the emulator is', async () => {
    const res = await t.request('GET', '/v1/billing/config');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      publishable_key: 'pk_test_tollgate_tests_0000',
      stripe_api_base: t.emulator.url,
      mode: 'test',
    });
  });
});

describe('checkout: subscription mode', () => {
  it('sells the plan price × seats with the trial, then the org is subscribed after paying', async () => {
    const org = await createTestOrg(t, 'Checkout Sub Co');
    const res = await startCheckout(org, { mode: 'subscription', plan: 'basic', interval: 'month' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.session_id).toMatch(/^cs_test_/);
    expect(res.body.url).toBe(`${t.emulator.url}/c/pay/${res.body.session_id}`);

    const session = await t.deps.stripe.checkout.sessions.retrieve(res.body.session_id);
    expect(session).toMatchObject({
      mode: 'subscription',
      customer: await customerOf(org),
      client_reference_id: org.id,
      allow_promotion_codes: true,
      // 14-day trial on Basic: nothing is due today.
      amount_total: 0,
    });
    expect(session.metadata).toMatchObject({ tollgate_org_id: org.id, tollgate_plan: 'basic' });
    const items = await lineItems(session.id);
    expect(items.data.map((i) => [i.price?.id, i.quantity])).toEqual([
      [(await planPrice('basic', 'month')).id, 1],
    ]);

    // Before paying, the org is still on Free.
    expect((await t.request('GET', `/v1/orgs/${org.id}/subscription`, { token: org.key })).body.plan).toBe(
      'free',
    );

    const paid = await payOnHostedPage(res.body.url);
    expect(paid.status).toBe(302);
    expect(paid.headers.get('location')).toBe(`${APP}/billing/done?session_id=${session.id}`);

    // The page the customer comes back to reads the session: the new state is there at once.
    const back = await t.request('GET', checkoutPath(org, `/${session.id}`), { token: org.member.jwt });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect(back.body).toMatchObject({ id: session.id, mode: 'subscription', status: 'complete', url: null });
    expect(back.body.subscription_id).toMatch(/^sub_/);

    const sub = (await t.request('GET', `/v1/orgs/${org.id}/subscription`, { token: org.member.jwt })).body;
    expect(sub).toMatchObject({ id: back.body.subscription_id, plan: 'basic', status: 'trialing', seats: 1 });
    const trialDays = (new Date(sub.trial_end).getTime() - Date.now()) / 86_400_000;
    expect(trialDays).toBeGreaterThan(13.9);
    expect(trialDays).toBeLessThan(14.1);
    const stripeSub = await t.deps.stripe.subscriptions.retrieve(back.body.subscription_id);
    expect(stripeSub.metadata).toMatchObject({ tollgate_org_id: org.id, tollgate_plan: 'basic' });

    // Subscribed: a second checkout for a plan is refused (change the plan instead).
    const again = await startCheckout(org, { mode: 'subscription', plan: 'professional' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('conflict');

    // A reload of the return page changes nothing and records the subscription once.
    await t.request('GET', checkoutPath(org, `/${session.id}`), { token: org.member.jwt });
    const audit = await t.request('GET', `/v1/orgs/${org.id}/audit-log?action=subscription.created`, {
      token: org.key,
    });
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0].target_id).toBe(back.body.subscription_id);

    // One trial per org, ever: after this subscription ends, checkout charges from day one.
    const ended = await t.request('POST', `/v1/orgs/${org.id}/subscription/cancel-now`, {
      token: TEST_ADMIN_KEY,
      body: { refund: false },
    });
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);
    const second = await startCheckout(org, { mode: 'subscription', plan: 'basic', interval: 'month' });
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    const secondSession = await t.deps.stripe.checkout.sessions.retrieve(second.body.session_id);
    expect(secondSession.amount_total).toBe(2900);
    expect((await payOnHostedPage(second.body.url)).status).toBe(302);
    const after = await t.request('GET', checkoutPath(org, `/${secondSession.id}`), { token: org.key });
    expect(after.body).toMatchObject({ status: 'complete', payment_status: 'paid' });
    const now = (await t.request('GET', `/v1/orgs/${org.id}/subscription`, { token: org.key })).body;
    expect(now).toMatchObject({ plan: 'basic', status: 'active', trial_end: null });
  });

  it('seats and interval choose the price and quantity', async () => {
    const org = await createTestOrg(t, 'Yearly Co');
    const res = await startCheckout(org, { mode: 'subscription', plan: 'enterprise', interval: 'year' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const session = await t.deps.stripe.checkout.sessions.retrieve(res.body.session_id);
    // Enterprise has no trial.
    expect(session.amount_total).toBe((await planPrice('enterprise', 'year')).amount);
    const items = await lineItems(session.id);
    expect(items.data.map((i) => i.price?.id)).toEqual([(await planPrice('enterprise', 'year')).id]);

    const flatWithSeats = await startCheckout(org, { mode: 'subscription', plan: 'basic', seats: 3 });
    expect(flatWithSeats.status).toBe(400);
    expect(flatWithSeats.body.error.details.issues[0].field).toBe('seats');
    const unknown = await startCheckout(org, { mode: 'subscription', plan: 'platinum' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details.issues[0].field).toBe('plan');
  });

  it('an org on invoice billing is sent to invoice subscriptions, not card checkout', async () => {
    const org = await createTestOrg(t, 'School District');
    const patched = await t.request('PATCH', `/v1/orgs/${org.id}`, {
      token: org.key,
      body: { collection_method: 'send_invoice', days_until_due: 30 },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const res = await startCheckout(org, { mode: 'subscription', plan: 'basic' });
    expect(res.status).toBe(409);
    expect(res.body.error.details.field).toBe('mode');
    // Credit packs are a one-off card payment: still fine.
    expect((await startCheckout(org, { mode: 'payment', items: [{ pack: 'credits_1k' }] })).status).toBe(201);
  });

  it('a newer subscription checkout expires the older open one, so two can never both be paid', async () => {
    const org = await createTestOrg(t, 'Two Tabs Co');
    const first = await startCheckout(org, { mode: 'subscription', plan: 'basic' });
    const second = await startCheckout(org, { mode: 'subscription', plan: 'professional' });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect((await t.deps.stripe.checkout.sessions.retrieve(first.body.session_id)).status).toBe('expired');
    expect((await t.deps.stripe.checkout.sessions.retrieve(second.body.session_id)).status).toBe('open');
    const stale = await t.request('GET', checkoutPath(org, `/${first.body.session_id}`), { token: org.key });
    expect(stale.body).toMatchObject({ status: 'expired', url: null });
  });
});

describe('checkout: redirect allow-list', () => {
  it('refuses redirect targets outside the allowed origins, naming the field, and creates nothing', async () => {
    const org = await createTestOrg(t, 'Redirect Co');
    const cases: [Record<string, string>, string[]][] = [
      [{ success_url: 'https://evil.test/phish' }, ['success_url']],
      [{ cancel_url: 'javascript:alert(document.cookie)' }, ['cancel_url']],
      [{ success_url: 'data:text/html,<script>alert(1)</script>' }, ['success_url']],
      [{ success_url: `${APP}.evil.test/x` }, ['success_url']],
      [{ success_url: 'https://app.example.test@evil.test/x' }, ['success_url']],
      [{ cancel_url: '//evil.test/x' }, ['cancel_url']],
      [{ success_url: 'http://app.example.test/x' }, ['success_url']],
      [
        { success_url: 'https://evil.test/', cancel_url: 'https://evil.test/' },
        ['success_url', 'cancel_url'],
      ],
    ];
    for (const [override, fields] of cases) {
      const res = await startCheckout(org, { mode: 'payment', items: [{ pack: 'credits_1k' }], ...override });
      expect(res.status, JSON.stringify(override)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details.issues.map((i: { field: string }) => i.field)).toEqual(fields);
    }
    // Nothing reached Stripe: the org does not even have a customer yet.
    expect(await customerOf(org)).toBeNull();

    // Another allowed origin, and Tollgate's own PUBLIC_URL, are fine.
    const ok = await startCheckout(org, {
      mode: 'payment',
      items: [{ pack: 'credits_1k' }],
      success_url: 'https://admin.example.test/credits?ok=1',
      cancel_url: `${t.url}/credits`,
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
  });
});

describe('checkout: payment mode (credit packs)', () => {
  it('charges pack price × quantity and carries the packs and credits in metadata', async () => {
    const org = await createTestOrg(t, 'Credits Co');
    const res = await startCheckout(org, {
      mode: 'payment',
      items: [
        { pack: 'credits_10k', quantity: 2 },
        { pack: 'credits_1k', quantity: 1 },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const session = await t.deps.stripe.checkout.sessions.retrieve(res.body.session_id);
    const packs = (await t.request('GET', '/v1/credit-products')).body.packs as {
      key: string;
      price_id: string;
      amount: number;
    }[];
    const pack = (k: string) => packs.find((p) => p.key === k)!;
    expect(session.mode).toBe('payment');
    expect(session.amount_total).toBe(pack('credits_10k').amount * 2 + pack('credits_1k').amount);
    expect(session.amount_total).toBe(19_000);
    expect(session.metadata).toEqual({
      tollgate_org_id: org.id,
      tollgate_purpose: 'credit_packs',
      tollgate_packs: 'credits_10k:2,credits_1k:1',
      tollgate_credits: '21000',
    });
    const items = await lineItems(session.id);
    expect(items.data.map((i) => [i.price?.id, i.quantity])).toEqual([
      [pack('credits_10k').price_id, 2],
      [pack('credits_1k').price_id, 1],
    ]);

    expect((await payOnHostedPage(res.body.url)).status).toBe(302);
    const back = await t.request('GET', checkoutPath(org, `/${session.id}`), { token: org.member.jwt });
    expect(back.body).toMatchObject({
      mode: 'payment',
      status: 'complete',
      payment_status: 'paid',
      amount_total: 19_000,
      currency: 'usd',
      subscription_id: null,
    });
    const pi = await t.deps.stripe.paymentIntents.retrieve(back.body.payment_intent_id);
    expect(pi).toMatchObject({ status: 'succeeded', amount: 19_000, customer: await customerOf(org) });
    expect(pi.metadata).toMatchObject({ tollgate_org_id: org.id, tollgate_credits: '21000' });
    // A credit purchase is not a subscription.
    expect((await t.request('GET', `/v1/orgs/${org.id}/subscription`, { token: org.key })).body.plan).toBe(
      'free',
    );
  });

  it('names the item that is wrong', async () => {
    const org = await createTestOrg(t, 'Bad Pack Co');
    const unknown = await startCheckout(org, {
      mode: 'payment',
      items: [{ pack: 'credits_1k' }, { pack: 'credits_1m' }],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details.issues.map((i: { field: string }) => i.field)).toEqual([
      'items.1.pack',
    ]);
    const twice = await startCheckout(org, {
      mode: 'payment',
      items: [{ pack: 'credits_1k' }, { pack: 'credits_1k' }],
    });
    expect(twice.body.error.details.issues[0].field).toBe('items.1.pack');
    const tooMany = await startCheckout(org, {
      mode: 'payment',
      items: [{ pack: 'credits_1k', quantity: 101 }],
    });
    expect(tooMany.body.error.details.issues[0].field).toBe('items.0.quantity');
    const noMode = await startCheckout(org, { items: [{ pack: 'credits_1k' }] });
    expect(noMode.status).toBe(400);
    expect(noMode.body.error.details.issues[0].field).toBe('mode');
  });
});

describe('checkout: idempotency and ownership', () => {
  it('a double click with the same Idempotency-Key returns the same session, recorded once', async () => {
    const org = await createTestOrg(t, 'Double Click Co');
    const body = { mode: 'payment', items: [{ pack: 'credits_1k', quantity: 3 }] };
    const headers = { 'idempotency-key': 'click-7f3a9c' };
    const [a, b] = await Promise.all([startCheckout(org, body, headers), startCheckout(org, body, headers)]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body).toEqual(a.body);
    const later = await startCheckout(org, body, headers);
    expect(later.body.session_id).toBe(a.body.session_id);

    const sessions = await t.deps.stripe.checkout.sessions.list({ customer: await customerOf(org) });
    expect(sessions.data.map((s: Stripe.Checkout.Session) => s.id)).toEqual([a.body.session_id]);
    const audit = await t.request('GET', `/v1/orgs/${org.id}/audit-log?action=checkout_session.created`, {
      token: org.key,
    });
    expect(audit.body.data).toHaveLength(1);

    // Another click without the header (or with another key) is another purchase.
    const other = await startCheckout(org, body, { 'idempotency-key': 'click-8b2d11' });
    expect(other.body.session_id).not.toBe(a.body.session_id);
    // The same key for something else is refused rather than answered with the wrong session.
    const reused = await startCheckout(org, { ...body, success_url: `${APP}/elsewhere` }, headers);
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('idempotency_conflict');
  });

  it("another org's session is a 404, as is an unknown one", async () => {
    const mine = await createTestOrg(t, 'Mine Co');
    const theirs = await createTestOrg(t, 'Theirs Co');
    const res = await startCheckout(theirs, { mode: 'payment', items: [{ pack: 'credits_1k' }] });
    expect(res.status).toBe(201);
    await startCheckout(mine, { mode: 'payment', items: [{ pack: 'credits_1k' }] });
    const peek = await t.request('GET', checkoutPath(mine, `/${res.body.session_id}`), { token: mine.key });
    expect(peek.status).toBe(404);
    expect(peek.body.error.code).toBe('not_found');
    const unknown = await t.request('GET', checkoutPath(mine, '/cs_test_nope000000000'), { token: mine.key });
    expect(unknown.status).toBe(404);
    const own = await t.request('GET', checkoutPath(theirs, `/${res.body.session_id}`), {
      token: theirs.key,
    });
    expect(own.body).toMatchObject({ status: 'open', payment_status: 'unpaid', url: res.body.url });
  });
});

describe('@tollgate/client', () => {
  it('starts checkout (idempotently), reads it back, takes a one-off payment and opens the portal', async () => {
    const org = await createTestOrg(t, 'Client Checkout Co');
    const client = createTollgateClient({ baseUrl: t.url, token: org.key, org: org.id });
    expect((await client.getBillingConfig()).publishable_key).toBe('pk_test_tollgate_tests_0000');

    const body = { mode: 'payment' as const, items: [{ pack: 'credits_1k', quantity: 2 }], ...urls };
    const a = await client.createCheckoutSession(body, { idempotencyKey: 'client-click-1' });
    const b = await client.createCheckoutSession(body, { idempotencyKey: 'client-click-1' });
    expect(b.session_id).toBe(a.session_id);
    expect(await client.getCheckoutSession(a.session_id)).toMatchObject({
      id: a.session_id,
      status: 'open',
      amount_total: 2000,
    });

    const pi = await client.createPaymentIntent({
      amount: 5000,
      currency: 'usd',
      description: 'Data import',
      idempotency_key: 'client-order-1',
    });
    expect(pi.client_secret).toMatch(/_secret_/);

    const portal = await client.createPortalSession({ return_url: `${APP}/billing` });
    expect(portal.url).toMatch(/\/p\/session\//);

    const refused = await client
      .createPortalSession({ return_url: 'https://evil.test/' })
      .catch((e: unknown) => e as TollgateError);
    expect(refused).toBeInstanceOf(TollgateError);
    expect((refused as TollgateError).details).toMatchObject({ issues: [{ field: 'return_url' }] });
  });
});
