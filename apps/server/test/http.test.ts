import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import type { App } from '../src/http/types.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, type TestApp, type TestResponse } from './harness.ts';

const ALLOWED_ORIGIN = 'https://app.example.com';

let t: TestApp;
let a: TestOrg;

beforeAll(async () => {
  t = await startTestApp({
    CORS_ORIGINS: `${ALLOWED_ORIGIN}, https://admin.example.com`,
    BODY_LIMIT_BYTES: '2048',
  });
  a = await createTestOrg(t, 'Alpha');
});
afterAll(() => t.close());

function expectErrorEnvelope(res: TestResponse, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.body).toEqual({
    error: {
      code,
      message: expect.any(String),
      request_id: res.headers.get('x-request-id'),
      details: expect.any(Object),
    },
  });
}

describe('request ids', () => {
  it('every response carries one; a sane caller id is echoed, anything else replaced', async () => {
    const responses = [
      await t.request('GET', '/healthz'),
      await t.request('GET', '/v1/nope'),
      await t.request('GET', `/v1/orgs/${a.id}`),
      await t.request('GET', `/v1/orgs/${a.id}`, { token: a.key }),
      await t.request('POST', '/v1/orgs', { token: TEST_ADMIN_KEY, raw: '{' }),
    ];
    const ids = responses.map((r) => r.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(/^req_[A-Za-z0-9]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);

    const mine = 'caller-trace.0123456789';
    const echoed = await t.request('GET', '/v1/nope', { headers: { 'x-request-id': mine } });
    expect(echoed.headers.get('x-request-id')).toBe(mine);
    expect(echoed.body.error.request_id).toBe(mine);

    for (const insane of ['short', 'has spaces in it', '<script>alert(1)</script>', 'x'.repeat(101)]) {
      const res = await t.request('GET', '/healthz', { headers: { 'x-request-id': insane } });
      expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    }
  });
});

describe('error model', () => {
  it('an unknown route is a JSON 404 envelope', async () => {
    const res = await t.request('GET', '/v1/does-not-exist?x=1');
    expectErrorEnvelope(res, 404, 'not_found');
    expect(res.body.error.message).toContain('/v1/does-not-exist');
  });

  it('a malformed JSON body is a 400 naming body', async () => {
    for (const raw of ['{"name":', 'not json', '']) {
      const res = await t.request('POST', '/v1/orgs', {
        token: TEST_ADMIN_KEY,
        raw,
        headers: { 'content-type': 'application/json' },
      });
      expectErrorEnvelope(res, 400, 'validation_failed');
      expect(res.body.error.details.issues.map((i: { field: string }) => i.field)).toContain('body');
    }
  });

  it('a stray field is named itself, at any depth', async () => {
    const top = await t.request('POST', '/v1/orgs', {
      token: TEST_ADMIN_KEY,
      body: { name: 'x', colour: 'blue' },
    });
    expect(top.status).toBe(400);
    expect(top.body.error.details.issues.map((i: { field: string }) => i.field)).toEqual(['colour']);
    const nested = await t.request('POST', '/v1/orgs', {
      token: TEST_ADMIN_KEY,
      body: { name: 'x', owner: { external_user_id: 'y', colour: 'blue' } },
    });
    expect(nested.body.error.details.issues.map((i: { field: string }) => i.field)).toEqual(['owner.colour']);
  });

  it('a body over BODY_LIMIT_BYTES is a 413', async () => {
    const res = await t.request('POST', '/v1/orgs', {
      token: TEST_ADMIN_KEY,
      body: { name: 'x'.repeat(3000) },
    });
    expectErrorEnvelope(res, 413, 'payload_too_large');
    // Just under the limit gets as far as validation.
    const under = await t.request('POST', '/v1/orgs', {
      token: TEST_ADMIN_KEY,
      body: { name: 'x'.repeat(1500) },
    });
    expect(under.status).toBe(400);
  });

  it('an unsupported content type is a 415', async () => {
    const res = await t.request('POST', '/v1/orgs', {
      token: TEST_ADMIN_KEY,
      raw: '<org><name>x</name></org>',
      headers: { 'content-type': 'application/xml' },
    });
    expectErrorEnvelope(res, 415, 'unsupported_media_type');
  });

  it('an unexpected exception is a 500 that leaks nothing', async () => {
    const app: App = await buildApp(t.deps, { dashboardDir: '/nonexistent' });
    app.get('/explode', async () => {
      throw new Error('connect ECONNREFUSED db.internal:5432 password=hunter2');
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/explode`);
      const text = await res.text();
      expect(res.status).toBe(500);
      const body = JSON.parse(text);
      expect(body.error).toEqual({
        code: 'internal',
        message: 'internal error',
        request_id: res.headers.get('x-request-id'),
        details: {},
      });
      expect(text).not.toMatch(/hunter2|ECONNREFUSED|db\.internal|stack|\.ts/);
    } finally {
      await app.close();
    }
  });
});

describe('security headers and CORS', () => {
  it('responses carry helmet security headers', async () => {
    for (const path of ['/healthz', `/v1/orgs/${a.id}`, '/docs']) {
      const res = await fetch(t.url + path);
      expect(res.headers.get('content-security-policy'), path).toContain("default-src 'self'");
      expect(res.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('strict-transport-security'), path).toMatch(/max-age=\d+/);
      expect(res.headers.get('referrer-policy'), path).toBeTruthy();
      expect(res.headers.get('x-powered-by'), path).toBeNull();
    }
  });

  it('an allowed origin gets CORS headers (with credentials); another origin does not', async () => {
    const preflight = (origin: string) =>
      fetch(`${t.url}/v1/orgs/${a.id}`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'PATCH',
          'access-control-request-headers': 'x-csrf-token,content-type',
        },
      });
    const ok = await preflight(ALLOWED_ORIGIN);
    expect(ok.status).toBeLessThan(300);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect(ok.headers.get('access-control-allow-headers')).toContain('x-csrf-token');

    const evil = await preflight('https://evil.example.net');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();

    const simple = await t.request('GET', `/v1/orgs/${a.id}`, {
      token: a.key,
      headers: { origin: 'https://admin.example.com' },
    });
    expect(simple.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
    const other = await t.request('GET', `/v1/orgs/${a.id}`, {
      token: a.key,
      headers: { origin: 'https://evil.example.net' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('system endpoints', () => {
  it('/healthz and /readyz', async () => {
    const health = await t.request('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await t.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', database: t.deps.database.kind });
  });

  it('/metrics is Prometheus text with request durations by route', async () => {
    await t.request('GET', `/v1/orgs/${a.id}`, { token: a.key });
    const res = await t.request('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.text).toContain('# TYPE tollgate_http_request_duration_seconds histogram');
    expect(res.text).toMatch(
      /tollgate_http_request_duration_seconds_count\{method="GET",route="\/v1\/orgs\/:org",status="200"\} \d+/,
    );
    // Routes are labelled by pattern, never by id (unbounded label values would sink Prometheus).
    expect(res.text).not.toContain(a.id);
  });

  it('/openapi.json is OpenAPI 3.1 describing the API', async () => {
    const res = await t.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(res.body.paths).toHaveProperty(['/v1/orgs/{org}/members']);
    expect(Object.keys(res.body.paths['/v1/orgs/{org}/members'])).toEqual(
      expect.arrayContaining(['get', 'post']),
    );
    expect(res.body.components.securitySchemes).toHaveProperty('bearer');
  });

  it('/docs serves the interactive docs page, and its script loads', async () => {
    const res = await fetch(`${t.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/swagger/i);
    const script = html.match(/src="([^"]*initializer[^"]*)"/)?.[1];
    expect(script).toBeTruthy();
    const js = await fetch(new URL(script!, `${t.url}/docs/`));
    expect(js.status).toBe(200);
  });
});
