import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, type TestApp, type TestResponse } from './harness.ts';

/** Each test gets its own app, so limiter buckets never carry over between tests. */
const apps: TestApp[] = [];
afterAll(async () => {
  for (const app of apps) await app.close();
});

async function limitedApp(perIp: number, perKey = 600_000) {
  const t = await startTestApp({
    RATE_LIMIT_PER_IP_PER_MINUTE: String(perIp),
    RATE_LIMIT_PER_KEY_PER_MINUTE: String(perKey),
  });
  apps.push(t);
  return t;
}

function expectRateLimited(res: TestResponse) {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(res.body.error.code).toBe('rate_limited');
  expect(res.body.error.request_id).toBe(res.headers.get('x-request-id'));
}

describe('rate limits', () => {
  let t: TestApp;
  let a: TestOrg;
  beforeAll(async () => {
    t = await limitedApp(3, 5);
    a = await createTestOrg(t, 'Alpha');
  });

  it('the 4th anonymous request in a minute from one IP is a 429 with Retry-After; health checks stay exempt', async () => {
    for (let i = 0; i < 3; i++) expect((await t.request('GET', '/v1/me')).status).toBe(401);
    expectRateLimited(await t.request('GET', '/v1/me'));
    expectRateLimited(await t.request('GET', '/openapi.json'));
    for (const path of ['/healthz', '/readyz', '/metrics'])
      expect((await t.request('GET', path)).status).toBe(200);
    const metrics = await t.request('GET', '/metrics');
    expect(metrics.text).toMatch(/tollgate_http_rate_limited_total [1-9]/);
  });

  it('a valid key has its own budget, separate from the IP and from other keys', async () => {
    // The IP's anonymous budget is spent (above); a real credential still gets through.
    for (let i = 0; i < 5; i++)
      expect((await t.request('GET', `/v1/orgs/${a.id}`, { token: a.key })).status).toBe(200);
    expectRateLimited(await t.request('GET', `/v1/orgs/${a.id}`, { token: a.key }));
    expect((await t.request('GET', `/v1/orgs/${a.id}`, { token: a.admin.jwt })).status).toBe(200);
  });

  it('made-up credentials do not buy a fresh budget', async () => {
    const fresh = await limitedApp(3);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fresh.request('GET', '/v1/me', { token: `tg_sk_madeUp${i}${'0'.repeat(30)}` });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
  });
});
