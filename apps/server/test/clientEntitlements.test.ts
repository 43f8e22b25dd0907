import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTollgateClient, TollgateError } from '../../../packages/client/src/index.ts';
import { seedCatalog } from './catalogFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from './harness.ts';

let t: TestApp;
let org: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  org = await createTestOrg(t, 'Checks Co');
});
afterAll(() => t.close());

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: unknown;
}

/** A tiny real HTTP server: `answer` decides each reply; every request is recorded. */
async function fakeTollgate(answer: (req: Seen) => { status: number; body?: unknown } | null) {
  const seen: Seen[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const s = {
      method: req.method!,
      url: req.url!,
      auth: req.headers.authorization,
      body: raw ? JSON.parse(raw) : null,
    };
    seen.push(s);
    const a = answer(s);
    if (!a) return; // never answers (a hung Tollgate)
    res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body ?? {}));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('client.check against the real server', () => {
  it('answers allowed/reason with the details, and caches for cacheTtlMs', async () => {
    const client = createTollgateClient({
      baseUrl: t.url,
      token: org.key,
      entitlements: { cacheTtlMs: 60_000 },
    });
    const projects = await client.check(org.id, 'projects');
    expect(projects).toMatchObject({ allowed: true, reason: 'plan', limit: 1, usage: 0 });
    expect(await client.check(org.id, 'sso')).toMatchObject({ allowed: false, reason: 'not_in_plan' });

    await t.request('PUT', `/v1/orgs/${org.id}/entitlements/projects/usage`, {
      token: org.key,
      body: { usage: 1 },
    });
    // Still the cached answer: the point of the cache is not to ask on every call.
    expect(await client.check(org.id, 'projects')).toMatchObject({ allowed: true });
    client.invalidate(org.id);
    expect(await client.check(org.id, 'projects')).toMatchObject({ allowed: false, reason: 'limit_reached' });
    expect(await client.check(org.id, 'projects', 2)).toMatchObject({ allowed: false });
  });

  it('with cacheTtlMs 0 every check asks the server', async () => {
    const client = createTollgateClient({ baseUrl: t.url, token: org.key, entitlements: { cacheTtlMs: 0 } });
    await t.request('PUT', `/v1/orgs/${org.id}/entitlements/seats/usage`, {
      token: org.key,
      body: { usage: 0 },
    });
    expect(await client.check(org.id, 'seats')).toMatchObject({ allowed: true });
    await t.request('PUT', `/v1/orgs/${org.id}/entitlements/seats/usage`, {
      token: org.key,
      body: { usage: 1 },
    });
    expect(await client.check(org.id, 'seats')).toMatchObject({ allowed: false, reason: 'limit_reached' });
  });

  it('mistakes are thrown, not failed open: unknown feature 404, bad key 401', async () => {
    const open = createTollgateClient({ baseUrl: t.url, token: org.key, entitlements: { failMode: 'open' } });
    const unknown = await open.check(org.id, 'time_travel').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(TollgateError);
    expect((unknown as TollgateError).status).toBe(404);
    const badKey = createTollgateClient({
      baseUrl: t.url,
      token: 'tg_sk_test_not_a_real_key_000000000000',
      entitlements: { failMode: 'open' },
    });
    expect(((await badKey.check(org.id, 'sso').catch((e: unknown) => e)) as TollgateError).status).toBe(401);
  });
});

describe('client.check when Tollgate is unavailable', () => {
  it('unreachable: open allows, closed denies, both say tollgate_unavailable', async () => {
    const gone = await fakeTollgate(() => ({ status: 200 }));
    await gone.close();
    const open = createTollgateClient({ baseUrl: gone.url, token: 'x', entitlements: { failMode: 'open' } });
    const closed = createTollgateClient({
      baseUrl: gone.url,
      token: 'x',
      entitlements: { failMode: 'closed' },
    });
    expect(await open.check('org_abcdef123', 'sso')).toMatchObject({
      allowed: true,
      reason: 'tollgate_unavailable',
    });
    expect(await closed.check('org_abcdef123', 'sso')).toMatchObject({
      allowed: false,
      reason: 'tollgate_unavailable',
    });
    // The default is closed.
    const dflt = createTollgateClient({ baseUrl: gone.url, token: 'x' });
    expect(await dflt.check('org_abcdef123', 'sso')).toMatchObject({ allowed: false });
  });

  it('5xx and a hung server (timeout) count as unavailable; the next check asks again', async () => {
    let mode: 'error' | 'hang' | 'ok' = 'error';
    const fake = await fakeTollgate(() =>
      mode === 'error'
        ? {
            status: 503,
            body: { error: { code: 'unavailable', message: 'down', request_id: 'r', details: {} } },
          }
        : mode === 'hang'
          ? null
          : { status: 200, body: { feature: 'sso', allowed: true, reason: 'plan' } },
    );
    try {
      const client = createTollgateClient({
        baseUrl: fake.url,
        token: 'x',
        entitlements: { failMode: 'open', timeoutMs: 150 },
      });
      expect(await client.check('org_abcdef123', 'sso')).toMatchObject({
        allowed: true,
        reason: 'tollgate_unavailable',
      });
      mode = 'hang';
      const started = Date.now();
      expect(await client.check('org_abcdef123', 'sso')).toMatchObject({ reason: 'tollgate_unavailable' });
      expect(Date.now() - started).toBeLessThan(2_000);
      mode = 'ok';
      expect(await client.check('org_abcdef123', 'sso')).toMatchObject({ allowed: true, reason: 'plan' });
    } finally {
      await fake.close();
    }
  });
});

describe('client.consume and client.track against the real server', () => {
  it('consume spends credits, replays by key, refuses a short balance with 402; check sees the new balance', async () => {
    const o = await createTestOrg(t, 'Consumer Co');
    const grant = await t.request('POST', `/v1/admin/orgs/${o.id}/credits/grants`, {
      token: TEST_ADMIN_KEY,
      body: { credits: 10, reason: 'client test' },
    });
    expect(grant.status, JSON.stringify(grant.body)).toBe(201);
    const client = createTollgateClient({
      baseUrl: t.url,
      token: o.key,
      entitlements: { cacheTtlMs: 60_000 },
    });
    // The free plan's monthly allocation comes on top of the grant.
    const first = await client.check(o.id, 'api_call_premium');
    expect(first).toMatchObject({ allowed: true });
    const balance = (first as { balance: number }).balance;
    expect(balance).toBeGreaterThanOrEqual(10);
    expect(balance % 5).toBe(0);
    const quantity = balance / 5;
    const c = await client.consume(o.id, 'api_call_premium', quantity, { idempotencyKey: 'real_1' });
    expect(c).toMatchObject({
      event: 'api_call_premium',
      quantity,
      credits: balance,
      balance: 0,
      replayed: false,
    });
    expect(
      await client.consume(o.id, 'api_call_premium', quantity, { idempotencyKey: 'real_1' }),
    ).toMatchObject({
      id: c.id,
      replayed: true,
    });
    // consume dropped the cached check: the next one sees the empty balance.
    expect(await client.check(o.id, 'api_call_premium')).toMatchObject({
      allowed: false,
      reason: 'no_credits',
    });
    const refused = await client
      .consume(o.id, 'api_call_premium', 1, { idempotencyKey: 'real_2' })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({
      status: 402,
      code: 'insufficient_credits',
      details: { balance: 0, required: 5 },
    });
  });

  it('track records metered usage for a subscribed org, idempotently', async () => {
    await seedCatalog(t);
    const o = await createTestOrg(t, 'Tracker Co');
    await t.request('POST', `/v1/orgs/${o.id}/payment-methods`, {
      token: o.key,
      body: { payment_method_id: 'pm_card_visa' },
    });
    const sub = await t.request('POST', `/v1/orgs/${o.id}/subscription`, {
      token: o.key,
      body: { plan: 'basic' },
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    const client = createTollgateClient({ baseUrl: t.url, token: o.key });
    const u = await client.track(o.id, 'sms', 3, { idempotencyKey: 'sms_real_1' });
    expect(u).toMatchObject({ addon: 'sms', quantity: 3, replayed: false });
    expect(await client.track(o.id, 'sms', 3, { idempotencyKey: 'sms_real_1' })).toMatchObject({
      id: u.id,
      replayed: true,
    });
  });
});

describe('client.consume and client.track (wire format, against a recording server)', () => {
  it('consume sends event, quantity, idempotency key and metadata; returns the consumption; drops cached checks', async () => {
    let balance = 10;
    const fake = await fakeTollgate((req) => {
      if (req.method === 'GET')
        return {
          status: 200,
          body: { feature: 'api_call_premium', allowed: balance >= 5, reason: 'plan', balance },
        };
      const b = req.body as { event: string; quantity: number; idempotency_key: string };
      const credits = 5 * b.quantity;
      if (credits > balance)
        return {
          status: 402,
          body: {
            error: {
              code: 'insufficient_credits',
              message: 'not enough credits',
              request_id: 'req_x',
              details: { balance, required: credits },
            },
          },
        };
      balance -= credits;
      return {
        status: 200,
        body: {
          consumption: {
            id: 'con_1',
            event: b.event,
            quantity: b.quantity,
            credits,
            overage: 0,
            balance,
            breakdown: [],
            replayed: false,
            created_at: new Date().toISOString(),
          },
        },
      };
    });
    try {
      const client = createTollgateClient({ baseUrl: fake.url, token: 'tg_sk_host' });
      expect(await client.check('org_abcdef123', 'api_call_premium')).toMatchObject({
        allowed: true,
        balance: 10,
      });
      const c = await client.consume('org_abcdef123', 'api_call_premium', 2, {
        idempotencyKey: 'req_42:premium',
        metadata: { route: '/x' },
      });
      expect(c).toMatchObject({ credits: 10, balance: 0, replayed: false });
      const post = fake.seen.find((s) => s.method === 'POST')!;
      expect(post.url).toBe('/v1/orgs/org_abcdef123/credits/consume');
      expect(post.auth).toBe('Bearer tg_sk_host');
      expect(post.body).toEqual({
        event: 'api_call_premium',
        quantity: 2,
        idempotency_key: 'req_42:premium',
        metadata: { route: '/x' },
      });
      // The balance moved: the next check asks again instead of answering from the cache.
      expect(await client.check('org_abcdef123', 'api_call_premium')).toMatchObject({
        allowed: false,
        balance: 0,
      });

      const refused = await client
        .consume('org_abcdef123', 'api_call_premium', 1, { idempotencyKey: 'req_43:premium' })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TollgateError);
      expect(refused).toMatchObject({
        status: 402,
        code: 'insufficient_credits',
        details: { balance: 0, required: 5 },
      });

      const noKey = await client
        .consume('org_abcdef123', 'api_call_premium', 1, {} as { idempotencyKey: string })
        .catch((e: unknown) => e);
      expect((noKey as TollgateError).code).toBe('validation_failed');
    } finally {
      await fake.close();
    }
  });

  it('track reports metered usage with its key and time', async () => {
    const fake = await fakeTollgate((req) => ({
      status: 200,
      body: { usage: { id: 'use_1', ...(req.body as object) } },
    }));
    try {
      const client = createTollgateClient({ baseUrl: fake.url, token: 'tg_sk_host' });
      const at = new Date('2026-11-01T10:00:00Z');
      const u = await client.track('org_abcdef123', 'sms', 3, {
        idempotencyKey: 'sms_batch_7',
        occurredAt: at,
      });
      expect(u).toMatchObject({ id: 'use_1', addon: 'sms', quantity: 3 });
      expect(fake.seen[0]).toMatchObject({
        method: 'POST',
        url: '/v1/orgs/org_abcdef123/usage',
        body: { addon: 'sms', quantity: 3, idempotency_key: 'sms_batch_7', occurred_at: at.toISOString() },
      });
      // A failed report throws (usage must not be silently dropped).
      await fake.close();
      await expect(
        client.track('org_abcdef123', 'sms', 1, { idempotencyKey: 'sms_batch_8' }),
      ).rejects.toThrow();
    } finally {
      await fake.close().catch(() => {});
    }
  });
});
