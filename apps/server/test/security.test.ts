import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, type TestApp } from './harness.ts';
import { orgRouteCases } from './orgRouteCases.ts';
import { assertEveryOrgRouteCovered, runSecurityChecks } from './securitySuite.ts';

let t: TestApp;
let a: TestOrg;
let b: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  a = await createTestOrg(t, 'Alpha');
  b = await createTestOrg(t, 'Beta');
});
afterAll(() => t.close());

describe('shared security suite', () => {
  it('covers every org-scoped route in the OpenAPI document', async () => {
    const doc = (await t.request('GET', '/openapi.json')).body;
    assertEveryOrgRouteCovered(doc, orgRouteCases);
  });

  for (const c of orgRouteCases) {
    it(`${c.method} ${c.path}`, async () => {
      await runSecurityChecks(t, c, a, b);
    });
  }

  it('operator routes refuse org keys and members with 403, anonymous callers with 401', async () => {
    for (const path of ['/v1/admin/orgs', '/v1/admin/audit-log', '/v1/admin/api-keys']) {
      expect((await t.request('GET', path)).status).toBe(401);
      expect((await t.request('GET', path, { token: a.key })).status).toBe(403);
      expect((await t.request('GET', path, { token: a.owner.jwt })).status).toBe(403);
    }
    expect((await t.request('POST', '/v1/orgs', { token: a.key, body: { name: 'x' } })).status).toBe(403);
  });
});
