import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DEMO_ADMIN_KEY } from '../src/env.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import {
  mintJwt,
  startTestApp,
  TEST_ADMIN_KEY,
  TEST_AUDIENCE,
  TEST_ISSUER,
  type TestApp,
} from './harness.ts';

type Keys = Awaited<ReturnType<typeof generateKeyPair>>;

let t: TestApp;
let a: TestOrg;
let jwks: Server;
let idp: Keys;
let stranger: Keys;

async function signRs256(keys: Keys, kid: string, claims: Record<string, unknown>) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid })
    .setIssuer(TEST_ISSUER)
    .setAudience(TEST_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(keys.privateKey);
}

beforeAll(async () => {
  idp = await generateKeyPair('RS256');
  stranger = await generateKeyPair('RS256');
  const publicJwk = { ...(await exportJWK(idp.publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' };
  // The identity provider's JWKS endpoint, as Clerk or Auth0 would serve it.
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
  // No JWT_SECRET and no admin key: only the JWKS can vouch for users.
  t = await startTestApp({ JWT_JWKS_URL: url, JWT_SECRET: '', TOLLGATE_ADMIN_KEY: '' });
  a = await createTestOrg(t, 'Jwks Org');
});
afterAll(async () => {
  await t?.close();
  await new Promise((resolve) => jwks?.close(resolve));
});

describe('JWKS mode', () => {
  it('accepts an RS256 token signed by a key in the JWKS', async () => {
    const token = await signRs256(idp, 'idp-1', { sub: a.admin.externalId, email: 'admin@jwks.test' });
    const me = await t.request('GET', '/v1/me', { token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ kind: 'user', user_id: a.admin.userId });
    expect((await t.request('GET', `/v1/orgs/${a.id}/api-keys`, { token })).status).toBe(200);
  });

  it('refuses tokens from any other key, and HS256 tokens', async () => {
    const sameKid = await signRs256(stranger, 'idp-1', { sub: a.admin.externalId });
    const otherKid = await signRs256(stranger, 'stranger-1', { sub: a.admin.externalId });
    const hs256 = await mintJwt({ sub: a.admin.externalId });
    for (const token of [sameKid, otherKid, hs256]) {
      const res = await t.request('GET', `/v1/orgs/${a.id}`, { token });
      expect(res.status).toBe(401);
    }
  });

  it('without TOLLGATE_ADMIN_KEY outside demo mode, no bootstrap or demo key is accepted', async () => {
    for (const token of [TEST_ADMIN_KEY, DEFAULT_DEMO_ADMIN_KEY]) {
      expect((await t.request('GET', '/v1/admin/orgs', { token })).status).toBe(401);
    }
  });
});
