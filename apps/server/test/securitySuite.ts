import { expect } from 'vitest';
import type { OrgRole } from '../src/db/schema/index.ts';
import type { TestOrg } from './factories.ts';
import { mintJwt, type TestApp } from './harness.ts';

/**
 * One entry per org-scoped route. Every new route under /v1/orgs/{org} must be added here;
 * `assertEveryOrgRouteCovered` fails the suite when one is missing.
 */
export interface OrgRouteCase {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** OpenAPI path, e.g. /v1/orgs/{org}/members/{member} */
  path: string;
  minRole: OrgRole;
  /** Fills path params other than {org} with ids that exist in `org`. */
  params?: (org: TestOrg) => Record<string, string>;
  /** A valid body (so auth is what fails, not validation). */
  body?: (org: TestOrg) => unknown;
  /** A malformed body or query that must give 400 naming `field`. */
  invalid?: { body?: unknown; query?: string; field: string };
  /** Only secret keys may call it (users get 403 even as owner). */
  keyOnly?: boolean;
}

export function fillPath(c: OrgRouteCase, org: TestOrg, orgId = org.id): string {
  const params = { org: orgId, ...c.params?.(org) };
  return c.path.replace(/\{(\w+)\}/g, (_, k: string) => params[k as keyof typeof params] ?? `missing_${k}`);
}

export function assertEveryOrgRouteCovered(
  openapi: { paths: Record<string, Record<string, unknown>> },
  cases: OrgRouteCase[],
) {
  const declared = new Set(cases.map((c) => `${c.method} ${c.path}`));
  const missing: string[] = [];
  for (const [path, ops] of Object.entries(openapi.paths)) {
    if (!path.startsWith('/v1/orgs/{org}')) continue;
    for (const method of Object.keys(ops)) {
      const key = `${method.toUpperCase()} ${path}`;
      if (!declared.has(key)) missing.push(key);
    }
  }
  expect(missing, 'org-scoped routes missing from the security suite').toEqual([]);
}

async function send(t: TestApp, c: OrgRouteCase, org: TestOrg, token: string | undefined, orgId = org.id) {
  return t.request(c.method, fillPath(c, org, orgId), {
    token,
    body: c.body?.(org) ?? (c.method === 'GET' || c.method === 'DELETE' ? undefined : {}),
  });
}

/** The shared checks every org-scoped route must pass. `a` and `b` are two unrelated orgs. */
export async function runSecurityChecks(t: TestApp, c: OrgRouteCase, a: TestOrg, b: TestOrg) {
  const label = `${c.method} ${c.path}`;
  expect((await send(t, c, a, undefined)).status, `${label} without credentials`).toBe(401);
  expect((await send(t, c, a, 'tg_sk_not_a_real_key_000000000000000000000')).status, `${label} bad key`).toBe(
    401,
  );
  expect((await send(t, c, a, 'garbage.jwt.token')).status, `${label} garbage JWT`).toBe(401);
  const expired = await mintJwt(
    { sub: a.owner.externalId },
    { expiresIn: Math.floor(Date.now() / 1000) - 120 },
  );
  expect((await send(t, c, a, expired)).status, `${label} expired JWT`).toBe(401);
  const wrongAud = await mintJwt({ sub: a.owner.externalId }, { audience: 'someone-else' });
  expect((await send(t, c, a, wrongAud)).status, `${label} wrong-audience JWT`).toBe(401);
  const wrongIss = await mintJwt({ sub: a.owner.externalId }, { issuer: 'https://evil.test' });
  expect((await send(t, c, a, wrongIss)).status, `${label} wrong-issuer JWT`).toBe(401);
  const wrongSecret = await mintJwt(
    { sub: a.owner.externalId },
    { secret: 'another-secret-another-secret-another' },
  );
  expect((await send(t, c, a, wrongSecret)).status, `${label} forged JWT`).toBe(401);

  // Org B's credentials on org A's resources: indistinguishable from "does not exist".
  expect((await send(t, c, b, b.key, a.id)).status, `${label} other org's key`).toBe(404);
  expect((await send(t, c, b, b.owner.jwt, a.id)).status, `${label} other org's owner`).toBe(404);
  // An org id that does not exist at all answers the same.
  expect((await send(t, c, a, a.key, 'org_doesNotExist000000000')).status, `${label} unknown org`).toBe(404);

  if (c.minRole !== 'member') {
    expect((await send(t, c, a, a.member.jwt)).status, `${label} member on ${c.minRole} action`).toBe(403);
  }
  if (c.minRole === 'owner') {
    expect((await send(t, c, a, a.admin.jwt)).status, `${label} admin on owner action`).toBe(403);
  }
  if (c.keyOnly) {
    expect((await send(t, c, a, a.owner.jwt)).status, `${label} user on key-only action`).toBe(403);
  }
  if (c.invalid) {
    const path = fillPath(c, a) + (c.invalid.query ? `?${c.invalid.query}` : '');
    const res = await t.request(c.method, path, { token: a.key, body: c.invalid.body });
    expect(res.status, `${label} malformed input`).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.issues.map((i: { field: string }) => i.field)).toContain(c.invalid.field);
  }
}
