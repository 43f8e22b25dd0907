import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, type TestApp } from './harness.ts';

let t: TestApp;
let org: TestOrg;
let other: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  org = await createTestOrg(t, 'Cards Inc');
  other = await createTestOrg(t, 'Other Inc');
});
afterAll(() => t.close());

const pmPath = (o: TestOrg, rest = '') => `/v1/orgs/${o.id}/payment-methods${rest}`;

describe('payment methods', () => {
  it('ten concurrent first calls create exactly one Stripe customer for the org', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.request('POST', pmPath(other, '/setup-intents'), { token: other.key, body: {} }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
    const customers = await t.deps.stripe.customers.search({
      query: `metadata['tollgate_org_id']:'${other.id}'`,
    });
    expect(customers.data).toHaveLength(1);
    const orgView = (await t.request('GET', `/v1/orgs/${other.id}`, { token: other.key })).body;
    expect(orgView.stripe_customer_id).toBe(customers.data[0]!.id);
    expect(customers.data[0]!.email).toBe(orgView.billing_email);
  });

  it('a SetupIntent is created for Elements, with the client secret and publishable key', async () => {
    const res = await t.request('POST', pmPath(org, '/setup-intents'), { token: org.admin.jwt, body: {} });
    expect(res.status).toBe(201);
    expect(res.body.client_secret).toMatch(/^seti_.+_secret_/);
    expect(res.body.publishable_key).toMatch(/^pk_test_/);
    const si = await t.deps.stripe.setupIntents.retrieve(res.body.setup_intent_id);
    expect(si.usage).toBe('off_session');
  });

  it('attaching cards: the first becomes default; lists show only brand, last4, expiry, default', async () => {
    const first = await t.request('POST', pmPath(org), {
      token: org.key,
      body: { payment_method_id: 'pm_card_visa' },
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ brand: 'visa', last4: '4242', is_default: true });
    expect(Object.keys(first.body).sort()).toEqual([
      'brand',
      'exp_month',
      'exp_year',
      'id',
      'is_default',
      'last4',
    ]);
    const second = await t.request('POST', pmPath(org), {
      token: org.key,
      body: { payment_method_id: 'pm_card_mastercard' },
    });
    expect(second.body).toMatchObject({ brand: 'mastercard', last4: '4444', is_default: false });

    const list = await t.request('GET', pmPath(org), { token: org.member.jwt });
    expect(list.status).toBe(200);
    expect(
      list.body.data.map((c: { last4: string; is_default: boolean }) => [c.last4, c.is_default]).sort(),
    ).toEqual([
      ['4242', true],
      ['4444', false],
    ]);
    const customer = await t.deps.stripe.customers.retrieve(
      (await t.request('GET', `/v1/orgs/${org.id}`, { token: org.key })).body.stripe_customer_id,
    );
    expect(
      (customer as { invoice_settings: { default_payment_method: string } }).invoice_settings
        .default_payment_method,
    ).toBe(first.body.id);
  });

  it('set default moves the customer default; removing the default promotes another card', async () => {
    const cards = (await t.request('GET', pmPath(org), { token: org.key })).body.data as {
      id: string;
      last4: string;
    }[];
    const master = cards.find((c) => c.last4 === '4444')!;
    const visa = cards.find((c) => c.last4 === '4242')!;
    const res = await t.request('POST', pmPath(org, `/${master.id}/default`), { token: org.key, body: {} });
    expect(res.status).toBe(200);
    expect(res.body.data.find((c: { id: string }) => c.id === master.id).is_default).toBe(true);

    const removed = await t.request('DELETE', pmPath(org, `/${master.id}`), { token: org.key });
    expect(removed.status).toBe(200);
    expect(removed.body.data).toEqual([expect.objectContaining({ id: visa.id, is_default: true })]);
    const audit = (
      await t.request('GET', `/v1/orgs/${org.id}/audit-log?action=payment_method.removed`, { token: org.key })
    ).body;
    expect(audit.data[0].target_id).toBe(master.id);
  });

  it('a card declined at attach is a 402 with the decline reason, and nothing is attached', async () => {
    const before = (await t.request('GET', pmPath(org), { token: org.key })).body.data.length;
    const res = await t.request('POST', pmPath(org), {
      token: org.key,
      body: { payment_method_id: 'pm_card_chargeDeclined' },
    });
    expect(res.status).toBe(402);
    expect(res.body.error.code).toBe('card_declined');
    expect(res.body.error.details.decline_code).toBe('generic_decline');
    expect((await t.request('GET', pmPath(org), { token: org.key })).body.data.length).toBe(before);
  });

  it("another org's card is a 404, never touched", async () => {
    const theirs = await t.request('POST', pmPath(other), {
      token: other.key,
      body: { payment_method_id: 'pm_card_visa' },
    });
    expect(theirs.status).toBe(201);
    expect((await t.request('DELETE', pmPath(org, `/${theirs.body.id}`), { token: org.key })).status).toBe(
      404,
    );
    expect(
      (await t.request('POST', pmPath(org, `/${theirs.body.id}/default`), { token: org.key, body: {} }))
        .status,
    ).toBe(404);
    expect((await t.request('GET', pmPath(other), { token: other.key })).body.data).toHaveLength(1);
  });

  it('the only card of a paid, auto-charged subscription cannot be removed', async () => {
    const cards = (await t.request('GET', pmPath(org), { token: org.key })).body.data as { id: string }[];
    expect(cards).toHaveLength(1);
    // The subscription projection is what the rule reads; billing flows set it (see subscriptions tests).
    await t.deps.database.query(
      `UPDATE organizations SET subscription_id = 'sub_x', subscription_status = 'active' WHERE id = $1`,
      [org.id],
    );
    const res = await t.request('DELETE', pmPath(org, `/${cards[0]!.id}`), { token: org.key });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/only card/);
    await t.deps.database.query(
      `UPDATE organizations SET subscription_id = NULL, subscription_status = NULL WHERE id = $1`,
      [org.id],
    );
  });

  it('billing profile changes reach the Stripe customer (and survive Stripe being down via the job)', async () => {
    const res = await t.request('PATCH', `/v1/orgs/${org.id}`, {
      token: org.key,
      body: {
        address: { line1: '1 Main St', city: 'Springfield', postal_code: '12345', country: 'US' },
        po_number: 'PO-77',
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const cus = (await t.deps.stripe.customers.retrieve(
      res.body.stripe_customer_id,
    )) as import('stripe').Stripe.Customer;
    expect(cus.address?.line1).toBe('1 Main St');
    expect(cus.invoice_settings.custom_fields).toEqual([{ name: 'PO number', value: 'PO-77' }]);

    t.emulator.control.injectFault({ method: 'POST', path: '/v1/customers/', count: 10, kind: 'error' });
    const down = await t.request('PATCH', `/v1/orgs/${org.id}`, {
      token: org.key,
      body: { name: 'Cards International' },
    });
    expect(down.status).toBe(200);
    t.emulator.control.clearFaults();
    const stale = (await t.deps.stripe.customers.retrieve(
      res.body.stripe_customer_id,
    )) as import('stripe').Stripe.Customer;
    expect(stale.name).toBe('Cards Inc');
    expect(await t.runJobs()).toBeGreaterThan(0);
    const after = (await t.deps.stripe.customers.retrieve(
      res.body.stripe_customer_id,
    )) as import('stripe').Stripe.Customer;
    expect(after.name).toBe('Cards International');
  });
});
