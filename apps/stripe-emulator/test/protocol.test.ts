import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestEmulator, type TestEmulator } from './helpers.ts';

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.stop());

async function raw(
  method: string,
  path: string,
  init: { body?: string; headers?: Record<string, string> } = {},
) {
  const res = await fetch(`${t.emulator.url}${path}`, {
    method,
    body: init.body,
    headers: {
      authorization: 'Bearer sk_test_123',
      'content-type': 'application/x-www-form-urlencoded',
      ...init.headers,
    },
  });
  // biome-ignore lint/suspicious/noExplicitAny: raw JSON bodies are probed freely in these tests
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

describe('wire protocol', () => {
  test('decodes bracket nesting, arrays and metadata; an empty value clears a field', async () => {
    const created = await raw('POST', '/v1/customers', {
      body: 'email=a%40b.c&metadata[org]=o_1&metadata[plan]=pro&address[city]=Paris&preferred_locales[]=fr&preferred_locales[]=en&description=hi',
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      email: 'a@b.c',
      metadata: { org: 'o_1', plan: 'pro' },
      address: { city: 'Paris', country: null },
      preferred_locales: ['fr', 'en'],
      description: 'hi',
    });
    const updated = await raw('POST', `/v1/customers/${created.body.id}`, {
      body: 'description=&metadata[plan]=&address=',
    });
    expect(updated.body).toMatchObject({ description: null, metadata: { org: 'o_1' }, address: null });
  });

  test('GET query params use the same syntax (expand[] and filters)', async () => {
    const customer = await t.stripe.customers.create({ email: 'query@example.com' });
    const res = await raw('GET', `/v1/customers?email=query%40example.com&limit=1&expand[]=data.tax_ids`);
    expect(res.status).toBe(200);
    expect(res.body.data[0].id).toBe(customer.id);
    expect(res.body.data[0].tax_ids).toMatchObject({ object: 'list', data: [] });
  });

  test('every response carries a Request-Id', async () => {
    const res = await raw('GET', '/v1/customers');
    expect(res.headers.get('request-id')).toMatch(/^req_[A-Za-z0-9]+$/);
  });

  test('missing and invalid API keys are 401 with Stripe messages', async () => {
    const none = await raw('GET', '/v1/customers', { headers: { authorization: '' } });
    expect(none.status).toBe(401);
    expect(none.body.error.message).toMatch(/^You did not provide an API key/);
    const bad = t.client('sk_live_abcdefghijkl1234');
    await expect(bad.customers.list()).rejects.toMatchObject({
      type: 'StripeAuthenticationError',
      statusCode: 401,
      message: 'Invalid API Key provided: sk_live_************1234',
    });
    const basic = await raw('GET', '/v1/customers', {
      headers: { authorization: `Basic ${Buffer.from('sk_test_123:').toString('base64')}` },
    });
    expect(basic.status).toBe(200);
  });

  test('publishable keys are refused on secret-only endpoints', async () => {
    const pk = t.client('pk_test_123');
    await expect(pk.customers.list()).rejects.toMatchObject({ statusCode: 401 });
  });

  test('unknown or malformed Stripe-Version is a 400', async () => {
    const res = await raw('GET', '/v1/customers', { headers: { 'stripe-version': '2099-01-01' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      type: 'invalid_request_error',
      message: 'Invalid Stripe API version: 2099-01-01',
    });
    const older = await raw('GET', '/v1/customers', { headers: { 'stripe-version': '2024-06-20' } });
    expect(older.status).toBe(200);
    const pinned = t.client('sk_test_123', { apiVersion: Stripe.API_VERSION });
    await expect(pinned.customers.list()).resolves.toMatchObject({ object: 'list' });
  });

  test('unknown URLs are 404 invalid_request_error', async () => {
    const res = await raw('GET', '/v1/nothing_here');
    expect(res.status).toBe(404);
    expect(res.body.error.message).toContain('Unrecognized request URL (GET: /v1/nothing_here)');
  });
});

describe('errors', () => {
  test('unknown parameter -> 400 parameter_unknown with param, also nested', async () => {
    await expect(t.stripe.customers.create({ foo: 'x' } as never)).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 400,
      code: 'parameter_unknown',
      param: 'foo',
      message: 'Received unknown parameter: foo',
    });
    await expect(
      t.stripe.customers.create({ address: { city: 'x', planet: 'mars' } } as never),
    ).rejects.toMatchObject({ code: 'parameter_unknown', param: 'address[planet]' });
  });

  test('missing required parameter -> parameter_missing', async () => {
    await expect(t.stripe.testHelpers.testClocks.create({} as never)).rejects.toMatchObject({
      statusCode: 400,
      code: 'parameter_missing',
      param: 'frozen_time',
    });
  });

  test('invalid integer -> parameter_invalid_integer', async () => {
    await expect(t.stripe.customers.create({ balance: 'lots' as never })).rejects.toMatchObject({
      code: 'parameter_invalid_integer',
      param: 'balance',
    });
  });

  test('missing object -> 404 resource_missing with the id in the message', async () => {
    const err = await t.stripe.customers.update('cus_missing', { name: 'x' }).catch((e) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('resource_missing');
    expect(err.param).toBe('id');
    expect(err.message).toBe("No such customer: 'cus_missing'");
    expect(err.raw.doc_url).toBe('https://stripe.com/docs/error-codes/resource-missing');
    expect(err.raw.request_log_url).toMatch(/^https:\/\/dashboard\.stripe\.com\/test\/logs\/req_/);
  });
});
