import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startTestEmulator, type TestEmulator } from './helpers.ts';

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterEach(() => t.emulator.control.clearFaults());
afterAll(() => t.stop());

async function countCustomers(email: string): Promise<number> {
  return (await t.stripe.customers.list({ email, limit: 100 })).data.length;
}

describe('idempotency', () => {
  test('the same key replays the first response without creating twice', async () => {
    const a = await t.stripe.customers.create({ email: 'idem@example.com' }, { idempotencyKey: 'key-1' });
    const b = await t.stripe.customers.create({ email: 'idem@example.com' }, { idempotencyKey: 'key-1' });
    expect(b.id).toBe(a.id);
    expect(b.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(a.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(await countCustomers('idem@example.com')).toBe(1);
  });

  test('errors are replayed too (a 402 decline stays a 402)', async () => {
    const opts = { idempotencyKey: 'key-decline' };
    const params = { amount: 1000, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true };
    const first = await t.stripe.paymentIntents.create(params, opts).catch((e) => e);
    const second = await t.stripe.paymentIntents.create(params, opts).catch((e) => e);
    expect(first.statusCode).toBe(402);
    expect(second.statusCode).toBe(402);
    expect(second.raw.payment_intent.id).toBe(first.raw.payment_intent.id);
    expect(second.headers['idempotent-replayed']).toBe('true');
  });

  test('the same key with different parameters is an idempotency_error', async () => {
    await t.stripe.customers.create({ email: 'one@example.com' }, { idempotencyKey: 'key-2' });
    await expect(
      t.stripe.customers.create({ email: 'two@example.com' }, { idempotencyKey: 'key-2' }),
    ).rejects.toMatchObject({
      type: 'StripeIdempotencyError',
      statusCode: 400,
      message: expect.stringContaining(
        'Keys for idempotent requests can only be used with the same parameters',
      ),
    });
  });

  test('the same key while the first request still runs is a 409', async () => {
    t.emulator.control.injectFault({ kind: 'delay', path: '/v1/customers', method: 'POST', delayMs: 300 });
    const slow = t.stripe.customers.create({ email: 'slow@example.com' }, { idempotencyKey: 'key-3' });
    await new Promise((r) => setTimeout(r, 50));
    const concurrent = await t.stripe.customers
      .create({ email: 'slow@example.com' }, { idempotencyKey: 'key-3' })
      .catch((e) => e);
    expect(concurrent.statusCode).toBe(409);
    expect(concurrent.rawType).toBe('idempotency_error');
    const first = await slow;
    const replay = await t.stripe.customers.create(
      { email: 'slow@example.com' },
      { idempotencyKey: 'key-3' },
    );
    expect(replay.id).toBe(first.id);
  });

  test('validation failures are not saved: the key can be retried with fixed params... of the same body', async () => {
    const bad = await t.stripe.customers
      .create({ balance: 'x' as never }, { idempotencyKey: 'key-4' })
      .catch((e) => e);
    expect(bad.statusCode).toBe(400);
    const again = await t.stripe.customers
      .create({ balance: 'x' as never }, { idempotencyKey: 'key-4' })
      .catch((e) => e);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('fault injection', () => {
  test('a 500 after processing: the SDK retries and idempotency prevents a duplicate', async () => {
    const fault = t.emulator.control.injectFault({
      kind: 'error',
      path: '/v1/customers',
      method: 'POST',
      phase: 'after',
    });
    expect(fault.remaining).toBe(1);
    const retrying = t.client('sk_test_123', { maxNetworkRetries: 2 });
    const customer = await retrying.customers.create({ email: 'retry500@example.com' });
    expect(customer.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(await countCustomers('retry500@example.com')).toBe(1);
  });

  test('without retries the 500 surfaces as api_error with Stripe-Should-Retry', async () => {
    t.emulator.control.injectFault({ kind: 'error', path: '/v1/customers', method: 'GET' });
    const err = await t.stripe.customers.list().catch((e) => e);
    expect(err.type).toBe('StripeAPIError');
    expect(err.statusCode).toBe(500);
    expect(err.headers['stripe-should-retry']).toBe('true');
  });

  test('a dropped connection after processing: the retry is replayed, no duplicate', async () => {
    t.emulator.control.injectFault({ kind: 'drop', path: '/v1/customers', method: 'POST' });
    const retrying = t.client('sk_test_123', { maxNetworkRetries: 2 });
    const customer = await retrying.customers.create({ email: 'dropped@example.com' });
    expect(customer.id).toMatch(/^cus_/);
    expect(await countCustomers('dropped@example.com')).toBe(1);
  });

  test('a dropped connection surfaces as a connection error when retries are off', async () => {
    t.emulator.control.injectFault({ kind: 'drop', path: '/v1/customers', method: 'GET', count: 2 });
    const err = await t.stripe.customers.list().catch((e) => e);
    expect(err.type).toBe('StripeConnectionError');
  });

  test('429 lock_timeout: the SDK retries (Stripe-Should-Retry) and succeeds', async () => {
    t.emulator.control.injectFault({ kind: 'lock_timeout', pathRegex: '^/v1/customers$', count: 2 });
    const noRetry = await t.stripe.customers.create({ email: 'locked@example.com' }).catch((e) => e);
    expect(noRetry.statusCode).toBe(429);
    expect(noRetry.code).toBe('lock_timeout');
    const retrying = t.client('sk_test_123', { maxNetworkRetries: 3 });
    await expect(retrying.customers.create({ email: 'locked@example.com' })).resolves.toMatchObject({
      email: 'locked@example.com',
    });
    expect(await countCustomers('locked@example.com')).toBe(1);
  });

  test('429 rate_limit is a StripeRateLimitError', async () => {
    t.emulator.control.injectFault({ kind: 'rate_limit', path: '/v1/products' });
    await expect(t.stripe.products.list()).rejects.toMatchObject({
      type: 'StripeRateLimitError',
      code: 'rate_limit',
    });
    await expect(t.stripe.products.list()).resolves.toMatchObject({ object: 'list' });
  });

  test('faults are also injected over the HTTP control API', async () => {
    const res = await fetch(`${t.emulator.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'error', path: '/v1/coupons' }),
    });
    expect(res.status).toBe(200);
    await expect(t.stripe.coupons.list()).rejects.toMatchObject({ statusCode: 500 });
    await expect(t.stripe.coupons.list()).resolves.toMatchObject({ object: 'list' });
  });
});
