import { and, eq } from 'drizzle-orm';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payments } from '../src/db/schema/index.ts';
import { withOrgTx } from '../src/db/tx.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, type TestApp } from './harness.ts';

let t: TestApp;
let org: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  org = await createTestOrg(t, 'One-off Co');
});
afterAll(() => t.close());

const piPath = (o: TestOrg) => `/v1/orgs/${o.id}/payment-intents`;
const valid = {
  amount: 12_500,
  currency: 'usd',
  description: 'Onboarding workshop',
  idempotency_key: 'order_10001',
};
const create = (body: Record<string, unknown>, o = org) =>
  t.request('POST', piPath(o), { token: o.admin.jwt, body });

/** What Stripe.js does in the browser: confirm with the publishable key and the client secret. */
async function confirmInBrowser(id: string, clientSecret: string, paymentMethod: string) {
  const res = await fetch(`${t.emulator.url}/v1/payment_intents/${id}/confirm`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${t.deps.env.STRIPE_PUBLISHABLE_KEY}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ client_secret: clientSecret, payment_method: paymentMethod }).toString(),
  });
  return { status: res.status, body: (await res.json()) as Stripe.PaymentIntent };
}

const paymentRow = (id: string, o = org) =>
  withOrgTx(t.deps.database, o.id, (tx) =>
    tx
      .select()
      .from(payments)
      .where(and(eq(payments.orgId, o.id), eq(payments.id, id)))
      .then((r) => r[0] ?? null),
  );

describe('one-off payment intents', () => {
  it('returns the client secret; the payment is pending in the history and the card is not kept', async () => {
    const res = await create(valid);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      status: 'requires_payment_method',
      amount: 12_500,
      currency: 'usd',
    });
    expect(res.body.client_secret).toMatch(new RegExp(`^${res.body.payment_intent_id}_secret_`));

    const pi = await t.deps.stripe.paymentIntents.retrieve(res.body.payment_intent_id);
    const customer = (await t.request('GET', `/v1/orgs/${org.id}`, { token: org.key })).body
      .stripe_customer_id;
    expect(pi).toMatchObject({
      customer,
      description: 'Onboarding workshop',
      setup_future_usage: null,
      metadata: { tollgate_org_id: org.id, tollgate_cause: 'order_10001' },
    });
    expect(await paymentRow(pi.id)).toMatchObject({
      status: 'pending',
      amountCents: 12_500,
      currency: 'usd',
      customerId: customer,
      description: 'Onboarding workshop',
    });
    const audit = await t.request('GET', `/v1/orgs/${org.id}/audit-log?action=payment_intent.created`, {
      token: org.key,
    });
    expect(audit.body.data.map((e: { target_id: string }) => e.target_id)).toEqual([pi.id]);

    // The browser pays with the client secret; the card is not saved to the customer.
    const paid = await confirmInBrowser(pi.id, res.body.client_secret, 'pm_card_visa');
    expect(paid.body.status).toBe('succeeded');
    const cards = await t.request('GET', `/v1/orgs/${org.id}/payment-methods`, { token: org.key });
    expect(cards.body.data).toEqual([]);
  });

  it('the same idempotency_key is the same payment; reusing it for another amount is a 409', async () => {
    const body = { ...valid, idempotency_key: 'order_20002' };
    const [a, b] = await Promise.all([create(body), create(body)]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body.payment_intent_id).toBe(a.body.payment_intent_id);
    expect(b.body.client_secret).toBe(a.body.client_secret);
    const audit = await t.request('GET', `/v1/orgs/${org.id}/audit-log?action=payment_intent.created`, {
      token: org.key,
    });
    expect(
      audit.body.data.filter((e: { target_id: string }) => e.target_id === a.body.payment_intent_id),
    ).toHaveLength(1);

    const changed = await create({ ...body, amount: 99_00 });
    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe('idempotency_conflict');
    expect(changed.body.error.details.field).toBe('idempotency_key');
  });

  it('a card that needs 3-D Secure leaves the payment in requires_action until the customer authenticates', async () => {
    const res = await create({ ...valid, amount: 4_900, idempotency_key: 'order_30003' });
    expect(res.status).toBe(201);
    const confirm = await confirmInBrowser(
      res.body.payment_intent_id,
      res.body.client_secret,
      'pm_card_threeDSecure2Required',
    );
    expect(confirm.status).toBe(200);
    expect(confirm.body.status).toBe('requires_action');
    expect(confirm.body.next_action?.type).toBe('use_stripe_sdk');

    await t.emulator.control.authenticate(res.body.payment_intent_id, 'succeed');
    expect((await t.deps.stripe.paymentIntents.retrieve(res.body.payment_intent_id)).status).toBe(
      'succeeded',
    );
  });

  it('validation errors name the field, and nothing reaches Stripe', async () => {
    const fresh = await createTestOrg(t, 'Validation Co');
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid, amount: 49 }, 'amount'],
      [{ ...valid, amount: 100_000_000 }, 'amount'],
      [{ ...valid, amount: 12.5 }, 'amount'],
      [{ ...valid, amount: '1250' }, 'amount'],
      [{ ...valid, currency: 'USD' }, 'currency'],
      [{ ...valid, currency: 'dollars' }, 'currency'],
      [{ ...valid, description: '' }, 'description'],
      [{ ...valid, description: 'x'.repeat(501) }, 'description'],
      [{ amount: 1000, currency: 'usd', description: 'x' }, 'idempotency_key'],
      [{ ...valid, idempotency_key: 'short' }, 'idempotency_key'],
      [{ ...valid, setup_future_usage: 'off_session' }, 'setup_future_usage'],
    ];
    for (const [body, field] of cases) {
      const res = await create(body, fresh);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.details.issues.map((i: { field: string }) => i.field)).toContain(field);
    }
    expect(
      (await t.request('GET', `/v1/orgs/${fresh.id}`, { token: fresh.key })).body.stripe_customer_id,
    ).toBeNull();
  });
});
