import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestOrg, type TestOrg } from './factories.ts';
import {
  mintJwt,
  startTestApp,
  TEST_ADMIN_KEY,
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_JWT_SECRET,
  type TestApp,
} from './harness.ts';

let t: TestApp;
let a: TestOrg;
let b: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  a = await createTestOrg(t, 'Alpha');
  b = await createTestOrg(t, 'Beta');
});
afterAll(() => t.close());

/** last_used_at is written after the response (fire and forget), so wait for it briefly. */
async function waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 3_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('org API keys', () => {
  it('shows the secret once, lists only the prefix, works, records use and stops working when revoked', async () => {
    const created = await t.request('POST', `/v1/orgs/${a.id}/api-keys`, {
      token: a.admin.jwt,
      body: { name: 'ci' },
    });
    expect(created.status).toBe(201);
    const secret: string = created.body.secret;
    expect(secret).toMatch(/^tg_sk_[A-Za-z0-9]{40}$/);
    expect(created.body).toMatchObject({
      name: 'ci',
      scope: 'org',
      org_id: a.id,
      last_used_at: null,
      revoked_at: null,
    });
    expect(secret.startsWith(created.body.prefix)).toBe(true);
    expect(created.body.prefix.length).toBeLessThan(16);

    const list = await t.request('GET', `/v1/orgs/${a.id}/api-keys`, { token: a.admin.jwt });
    expect(list.status).toBe(200);
    const listed = list.body.data.find((k: { id: string }) => k.id === created.body.id);
    expect(listed.prefix).toBe(created.body.prefix);
    expect(listed).not.toHaveProperty('secret');
    expect(listed).not.toHaveProperty('hash');
    expect(list.text).not.toContain(secret);
    expect(list.text).not.toContain(createHash('sha256').update(secret).digest('hex'));
    // Org B's list never shows A's keys.
    const other = await t.request('GET', `/v1/orgs/${b.id}/api-keys`, { token: b.key });
    expect(other.body.data.map((k: { id: string }) => k.id)).not.toContain(created.body.id);

    const use = await t.request('GET', `/v1/orgs/${a.id}`, { token: secret });
    expect(use.status).toBe(200);
    expect(use.body.id).toBe(a.id);
    expect((await t.request('GET', `/v1/orgs/${b.id}`, { token: secret })).status).toBe(404);

    const touched = await waitFor(
      async () =>
        (await t.request('GET', `/v1/orgs/${a.id}/api-keys`, { token: a.key })).body.data.find(
          (k: { id: string }) => k.id === created.body.id,
        ),
      (k) => k.last_used_at !== null,
    );
    expect(Date.parse(touched.last_used_at)).toBeGreaterThan(Date.now() - 60_000);

    // Org B cannot revoke A's key: it does not exist for B.
    expect(
      (await t.request('DELETE', `/v1/orgs/${b.id}/api-keys/${created.body.id}`, { token: b.key })).status,
    ).toBe(404);
    expect((await t.request('GET', `/v1/orgs/${a.id}`, { token: secret })).status).toBe(200);

    const revoked = await t.request('DELETE', `/v1/orgs/${a.id}/api-keys/${created.body.id}`, {
      token: a.admin.jwt,
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    const after = await t.request('GET', `/v1/orgs/${a.id}`, { token: secret });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthenticated');
    // Revoking again is harmless.
    expect(
      (await t.request('DELETE', `/v1/orgs/${a.id}/api-keys/${created.body.id}`, { token: a.key })).status,
    ).toBe(200);
  });

  it('an org key is an owner of its own org and nothing else', async () => {
    const me = await t.request('GET', '/v1/me', { token: a.key });
    expect(me.body).toMatchObject({ kind: 'api_key', org_id: a.id, role: 'owner', platform_operator: false });
    expect((await t.request('GET', '/v1/admin/orgs', { token: a.key })).status).toBe(403);
  });
});

describe('platform keys and the bootstrap admin key', () => {
  it('TOLLGATE_ADMIN_KEY is accepted as a platform operator', async () => {
    const me = await t.request('GET', '/v1/me', { token: TEST_ADMIN_KEY });
    expect(me.body).toMatchObject({ kind: 'platform_key', platform_operator: true });
    const orgs = await t.request('GET', '/v1/admin/orgs?limit=100', { token: TEST_ADMIN_KEY });
    expect(orgs.status).toBe(200);
    expect(orgs.body.data.map((o: { id: string }) => o.id)).toEqual(expect.arrayContaining([a.id, b.id]));
  });

  it('platform keys created through /v1/admin/api-keys act as operator until revoked', async () => {
    const created = await t.request('POST', '/v1/admin/api-keys', {
      token: TEST_ADMIN_KEY,
      body: { name: 'ops' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ scope: 'platform', org_id: null });
    const secret: string = created.body.secret;

    expect((await t.request('GET', '/v1/admin/orgs', { token: secret })).status).toBe(200);
    expect((await t.request('GET', `/v1/orgs/${a.id}/members`, { token: secret })).status).toBe(200);
    expect((await t.request('GET', `/v1/orgs/${b.id}`, { token: secret })).status).toBe(200);

    const list = await t.request('GET', '/v1/admin/api-keys', { token: secret });
    expect(list.body.data.map((k: { id: string }) => k.id)).toContain(created.body.id);
    expect(list.body.data.every((k: { scope: string }) => k.scope === 'platform')).toBe(true);
    expect(list.text).not.toContain(secret);

    // The org route cannot see a platform key, and the admin route cannot see an org key.
    expect(
      (await t.request('DELETE', `/v1/orgs/${a.id}/api-keys/${created.body.id}`, { token: a.key })).status,
    ).toBe(404);
    expect((await t.request('DELETE', `/v1/admin/api-keys/${a.keyId}`, { token: secret })).status).toBe(404);

    expect(
      (await t.request('DELETE', `/v1/admin/api-keys/${created.body.id}`, { token: TEST_ADMIN_KEY })).status,
    ).toBe(200);
    expect((await t.request('GET', '/v1/admin/orgs', { token: secret })).status).toBe(401);
  });
});

describe('user JWTs', () => {
  it('without an org claim, access follows the membership row', async () => {
    expect((await t.request('GET', `/v1/orgs/${a.id}/members`, { token: a.member.jwt })).status).toBe(200);
    expect(
      (await t.request('PATCH', `/v1/orgs/${a.id}`, { token: a.member.jwt, body: { name: 'Alpha' } })).status,
    ).toBe(403);
    expect(
      (await t.request('PATCH', `/v1/orgs/${a.id}`, { token: a.admin.jwt, body: { name: 'Alpha' } })).status,
    ).toBe(200);
    expect((await t.request('GET', `/v1/orgs/${b.id}`, { token: a.owner.jwt })).status).toBe(404);
    const me = await t.request('GET', '/v1/me', { token: a.admin.jwt });
    expect(me.body).toMatchObject({
      kind: 'user',
      user_id: a.admin.userId,
      org_id: null,
      platform_operator: false,
    });
  });

  it('a Clerk org claim (org_id + org_role) grants that role without a membership row', async () => {
    const admin = await mintJwt({ sub: 'clerk_user_claims_admin', org_id: a.id, org_role: 'org:admin' });
    expect((await t.request('GET', `/v1/orgs/${a.id}/api-keys`, { token: admin })).status).toBe(200);
    expect((await t.request('GET', '/v1/me', { token: admin })).body).toMatchObject({
      org_id: a.id,
      role: 'admin',
    });
    // The claim names A only.
    expect((await t.request('GET', `/v1/orgs/${b.id}`, { token: admin })).status).toBe(404);

    const member = await mintJwt({ sub: 'clerk_user_claims_member', org_id: a.id, org_role: 'org:member' });
    expect((await t.request('GET', `/v1/orgs/${a.id}`, { token: member })).status).toBe(200);
    expect((await t.request('GET', `/v1/orgs/${a.id}/api-keys`, { token: member })).status).toBe(403);

    const members = await t.request('GET', `/v1/orgs/${a.id}/members`, { token: a.key });
    expect(members.body.data.map((m: { external_user_id: string }) => m.external_user_id)).not.toContain(
      'clerk_user_claims_admin',
    );
  });

  it("Clerk's v2 claims (o.id, o.rol) may name the org by its external id", async () => {
    const externalId = `org_clerk${Date.now()}`;
    const org = await t.request('POST', '/v1/orgs', {
      token: TEST_ADMIN_KEY,
      body: { name: 'Clerky', external_id: externalId },
    });
    expect(org.status).toBe(201);
    const token = await mintJwt({ sub: 'clerk_user_v2', o: { id: externalId, rol: 'admin', slg: 'clerky' } });
    expect((await t.request('GET', `/v1/orgs/${org.body.id}/api-keys`, { token })).status).toBe(200);
    expect(
      (await t.request('PATCH', `/v1/orgs/${org.body.id}`, { token, body: { name: 'Clerky 2' } })).body.name,
    ).toBe('Clerky 2');
    expect((await t.request('GET', `/v1/orgs/${a.id}`, { token })).status).toBe(404);

    const byOurId = await mintJwt({ sub: 'clerk_user_v2b', o: { id: org.body.id, rol: 'member' } });
    expect((await t.request('GET', `/v1/orgs/${org.body.id}`, { token: byOurId })).status).toBe(200);
    expect((await t.request('GET', `/v1/orgs/${org.body.id}/api-keys`, { token: byOurId })).status).toBe(403);
  });

  it('an org claim naming an org Tollgate does not know gives 404, not an empty org', async () => {
    const ghost = 'org_ghost000000000000000000';
    const token = await mintJwt({ sub: 'clerk_user_ghost', org_id: ghost, org_role: 'org:admin' });
    expect((await t.request('GET', `/v1/orgs/${ghost}/members`, { token })).status).toBe(404);
    const add = await t.request('POST', `/v1/orgs/${ghost}/members`, {
      token,
      body: { external_user_id: 'x1', role: 'member' },
    });
    expect(add.status).toBe(404);
  });

  it('expired, misaddressed, forged and exp-less tokens are refused with 401', async () => {
    const sub = a.owner.externalId;
    const bad = [
      await mintJwt({ sub }, { expiresIn: Math.floor(Date.now() / 1000) - 120 }),
      await mintJwt({ sub }, { audience: 'someone-else' }),
      await mintJwt({ sub }, { issuer: 'https://evil.test' }),
      await mintJwt({ sub }, { secret: 'another-secret-another-secret-another' }),
      await new SignJWT({ sub })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(TEST_ISSUER)
        .setAudience(TEST_AUDIENCE)
        .sign(new TextEncoder().encode(TEST_JWT_SECRET)),
      await mintJwt({ email: 'no-subject@x.test' }),
    ];
    for (const token of bad) {
      const res = await t.request('GET', `/v1/orgs/${a.id}`, { token });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthenticated');
    }
    // The same claims, correctly signed and addressed, work.
    expect((await t.request('GET', `/v1/orgs/${a.id}`, { token: await mintJwt({ sub }) })).status).toBe(200);
  });

  it('a malformed Authorization header is a 401, never ignored', async () => {
    for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'tg_sk_abc']) {
      const res = await t.request('GET', `/v1/orgs/${a.id}`, { headers: { authorization } });
      expect(res.status).toBe(401);
    }
  });
});
