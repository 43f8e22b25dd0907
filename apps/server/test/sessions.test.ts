import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, type TestApp } from './harness.ts';

let t: TestApp;
let a: TestOrg;
let b: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  a = await createTestOrg(t, 'Alpha');
  b = await createTestOrg(t, 'Beta');
});
afterAll(() => t.close());

async function mintLink(org: TestOrg, body: Record<string, unknown>) {
  const res = await t.request('POST', `/v1/orgs/${org.id}/dashboard-sessions`, { token: org.key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; user_id: string; url: string; expires_at: string };
}

/** Follows a sign-in link; returns the `tg_session=...` cookie pair and the raw Set-Cookie line. */
async function redeem(url: string) {
  const res = await fetch(url, { redirect: 'manual' });
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('tg_session='));
  return {
    status: res.status,
    location: res.headers.get('location'),
    setCookie,
    cookie: setCookie?.split(';')[0],
  };
}

async function signIn(org: TestOrg, userId: string) {
  const link = await mintLink(org, { user_id: userId });
  const { cookie } = await redeem(link.url);
  const me = await t.request('GET', '/v1/me', { cookie: cookie! });
  return { cookie: cookie!, csrf: me.body.csrf_token as string };
}

describe('dashboard sessions', () => {
  it('a secret key mints a one-time link that signs the user in with an httpOnly SameSite=Lax cookie', async () => {
    const link = await mintLink(a, { user_id: a.admin.userId });
    expect(link.user_id).toBe(a.admin.userId);
    expect(link.url.startsWith(`${t.url}/auth/dashboard?token=`)).toBe(true);
    const ttl = Date.parse(link.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(4 * 60_000);
    expect(ttl).toBeLessThanOrEqual(5 * 60_000);

    const r = await redeem(link.url);
    expect(r.status).toBe(303);
    expect(r.location).toBe('/');
    expect(r.setCookie).toMatch(/HttpOnly/i);
    expect(r.setCookie).toMatch(/SameSite=Lax/i);
    expect(r.setCookie).toMatch(/Path=\//);

    const me = await t.request('GET', '/v1/me', { cookie: r.cookie! });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ kind: 'user', user_id: a.admin.userId, org_id: a.id, role: 'admin' });
    expect(me.body.csrf_token).toEqual(expect.any(String));
    expect((await t.request('GET', `/v1/orgs/${a.id}/members`, { cookie: r.cookie! })).status).toBe(200);
    expect((await t.request('GET', `/v1/orgs/${a.id}/api-keys`, { cookie: r.cookie! })).status).toBe(200);

    // The link works once.
    const again = await fetch(link.url, { redirect: 'manual' });
    expect(again.status).toBe(401);
    expect(again.headers.getSetCookie().some((c) => c.startsWith('tg_session='))).toBe(false);
  });

  it('cookie-authenticated mutations need the CSRF token from /v1/me', async () => {
    const { cookie, csrf } = await signIn(a, a.admin.userId);
    const without = await t.request('PATCH', `/v1/orgs/${a.id}`, { cookie, body: { name: 'Alpha Co' } });
    expect(without.status).toBe(403);
    expect(without.body.error.code).toBe('csrf_failed');
    const wrong = await t.request('PATCH', `/v1/orgs/${a.id}`, {
      cookie,
      body: { name: 'Alpha Co' },
      // One character off (never the same character: a token ending in "x" stayed valid).
      headers: { 'x-csrf-token': `${csrf.slice(0, -1)}${csrf.endsWith('x') ? 'y' : 'x'}` },
    });
    expect(wrong.body.error.code).toBe('csrf_failed');
    expect((await t.request('GET', `/v1/orgs/${a.id}`, { cookie })).body.name).toBe('Alpha');

    const ok = await t.request('PATCH', `/v1/orgs/${a.id}`, {
      cookie,
      body: { name: 'Alpha Co' },
      headers: { 'x-csrf-token': csrf },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.name).toBe('Alpha Co');
  });

  it("the session carries the member's role and is bound to its org", async () => {
    // The member also belongs to B; a session for A still cannot reach B.
    await t.request('POST', `/v1/orgs/${b.id}/members`, {
      token: b.key,
      body: { user_id: a.member.userId, role: 'admin' },
    });
    const { cookie, csrf } = await signIn(a, a.member.userId);
    expect((await t.request('GET', '/v1/me', { cookie })).body.role).toBe('member');
    expect((await t.request('GET', `/v1/orgs/${a.id}`, { cookie })).status).toBe(200);
    const patch = await t.request('PATCH', `/v1/orgs/${a.id}`, {
      cookie,
      body: { name: 'x' },
      headers: { 'x-csrf-token': csrf },
    });
    expect(patch.status).toBe(403);
    expect(patch.body.error.code).toBe('forbidden');
    expect((await t.request('GET', `/v1/orgs/${b.id}`, { cookie })).status).toBe(404);
  });

  it('a session ends when the membership is removed', async () => {
    const added = await t.request('POST', `/v1/orgs/${a.id}/members`, {
      token: a.key,
      body: { external_user_id: 'leaver', role: 'admin' },
    });
    const { cookie } = await signIn(a, added.body.user_id);
    expect((await t.request('GET', `/v1/orgs/${a.id}`, { cookie })).status).toBe(200);
    expect(
      (await t.request('DELETE', `/v1/orgs/${a.id}/members/${added.body.id}`, { token: a.key })).status,
    ).toBe(204);
    expect((await t.request('GET', `/v1/orgs/${a.id}`, { cookie })).status).toBe(404);
  });

  it('a user JWT cannot mint sessions, even as owner', async () => {
    const res = await t.request('POST', `/v1/orgs/${a.id}/dashboard-sessions`, {
      token: a.owner.jwt,
      body: { user_id: a.member.userId },
    });
    expect(res.status).toBe(403);
  });

  it('a non-member needs a role, and is added as a member with it', async () => {
    const missing = await t.request('POST', `/v1/orgs/${a.id}/dashboard-sessions`, {
      token: a.key,
      body: { external_user_id: 'newcomer_1', email: 'newcomer@a.test' },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.issues.map((i: { field: string }) => i.field)).toContain('role');
    // The refused request left no member behind.
    const before = await t.request('GET', `/v1/orgs/${a.id}/members`, { token: a.key });
    expect(before.body.data.map((m: { external_user_id: string }) => m.external_user_id)).not.toContain(
      'newcomer_1',
    );

    // A member of B only is not a member of A either.
    const bOnly = await t.request('POST', `/v1/orgs/${a.id}/dashboard-sessions`, {
      token: a.key,
      body: { user_id: b.admin.userId },
    });
    expect(bOnly.status).toBe(400);

    const link = await mintLink(a, {
      external_user_id: 'newcomer_1',
      email: 'newcomer@a.test',
      role: 'member',
    });
    const members = await t.request('GET', `/v1/orgs/${a.id}/members`, { token: a.key });
    const m = members.body.data.find(
      (x: { external_user_id: string }) => x.external_user_id === 'newcomer_1',
    );
    expect(m).toMatchObject({ role: 'member', email: 'newcomer@a.test', user_id: link.user_id });
    const { cookie } = await redeem(link.url);
    expect((await t.request('GET', '/v1/me', { cookie: cookie! })).body).toMatchObject({
      role: 'member',
      org_id: a.id,
    });

    const unknownUser = await t.request('POST', `/v1/orgs/${a.id}/dashboard-sessions`, {
      token: a.key,
      body: { user_id: 'usr_doesNotExist000000000' },
    });
    expect(unknownUser.status).toBe(404);
  });

  it('sign-out ends the session (and needs the CSRF token)', async () => {
    const { cookie, csrf } = await signIn(a, a.owner.userId);
    expect((await t.request('POST', '/v1/session/sign-out', { cookie })).status).toBe(403);
    const out = await t.request('POST', '/v1/session/sign-out', {
      cookie,
      headers: { 'x-csrf-token': csrf },
    });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().some((c) => /^tg_session=;/.test(c))).toBe(true);
    const me = await t.request('GET', '/v1/me', { cookie });
    expect(me.status).toBe(401);
  });

  it('a bogus session cookie is a 401', async () => {
    const res = await t.request('GET', `/v1/orgs/${a.id}`, {
      cookie: 'tg_session=notARealSessionToken000000000000',
    });
    expect(res.status).toBe(401);
  });

  // Last: it moves this app's clock forward.
  it('a link older than five minutes no longer works', async () => {
    const link = await mintLink(a, { user_id: a.owner.userId });
    t.deps.clock.advance(5 * 60_000 + 1_000);
    const r = await redeem(link.url);
    expect(r.status).toBe(401);
    expect(r.setCookie).toBeUndefined();
    // A fresh link minted now works again.
    const fresh = await mintLink(a, { user_id: a.owner.userId });
    expect((await redeem(fresh.url)).status).toBe(303);
  });
});
