import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntryFor } from './auditTrail.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { mintJwt, startTestApp, type TestApp } from './harness.ts';
import { testDbKind } from './testDatabase.ts';

let t: TestApp;
let a: TestOrg;
let b: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  a = await createTestOrg(t, 'Alpha');
  b = await createTestOrg(t, 'Beta');
});
afterAll(() => t.close());

const members = async (org: TestOrg) =>
  (await t.request('GET', `/v1/orgs/${org.id}/members`, { token: org.key })).body.data as {
    id: string;
    user_id: string;
    external_user_id: string | null;
    role: string;
  }[];

describe('members', () => {
  it('every member can list the members and their roles', async () => {
    const res = await t.request('GET', `/v1/orgs/${a.id}/members`, { token: a.member.jwt });
    expect(res.status).toBe(200);
    expect(res.body.data.map((m: { id: string; role: string }) => [m.id, m.role])).toEqual([
      [a.owner.membershipId, 'owner'],
      [a.admin.membershipId, 'admin'],
      [a.member.membershipId, 'member'],
    ]);
  });

  it('an admin adds a member (new or existing user); the change is audited with actor and request id', async () => {
    const res = await t.request('POST', `/v1/orgs/${a.id}/members`, {
      token: a.admin.jwt,
      body: { external_user_id: 'idp_newbie', email: 'newbie@alpha.test', role: 'member' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      external_user_id: 'idp_newbie',
      email: 'newbie@alpha.test',
      role: 'member',
    });
    const entry = await auditEntryFor(t, res, 'member.added');
    expect(entry).toMatchObject({
      org_id: a.id,
      actor_type: 'user',
      actor_id: a.admin.userId,
      target_id: res.body.id,
      after: { role: 'member', user_id: res.body.user_id },
    });
    // The new member's own token now works.
    expect(
      (await t.request('GET', `/v1/orgs/${a.id}`, { token: await mintJwt({ sub: 'idp_newbie' }) })).status,
    ).toBe(200);

    // A user of another org, by our user id.
    const existing = await t.request('POST', `/v1/orgs/${a.id}/members`, {
      token: a.admin.jwt,
      body: { user_id: b.member.userId, role: 'admin' },
    });
    expect(existing.status).toBe(201);
    expect((await t.request('GET', `/v1/orgs/${a.id}/api-keys`, { token: b.member.jwt })).status).toBe(200);
    // ... and still only a member in B.
    expect((await t.request('GET', `/v1/orgs/${b.id}/api-keys`, { token: b.member.jwt })).status).toBe(403);
  });

  it('adding someone twice is a 409', async () => {
    const res = await t.request('POST', `/v1/orgs/${a.id}/members`, {
      token: a.admin.jwt,
      body: { external_user_id: a.member.externalId, role: 'admin' },
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
    expect((await members(a)).find((m) => m.id === a.member.membershipId)?.role).toBe('member');
  });

  it('only owners add, promote to, demote or remove owners', async () => {
    const addOwner = { external_user_id: 'idp_would_be_owner', role: 'owner' };
    expect(
      (await t.request('POST', `/v1/orgs/${a.id}/members`, { token: a.admin.jwt, body: addOwner })).status,
    ).toBe(403);
    const promote = await t.request('PATCH', `/v1/orgs/${a.id}/members/${a.member.membershipId}`, {
      token: a.admin.jwt,
      body: { role: 'owner' },
    });
    expect(promote.status).toBe(403);
    const demote = await t.request('PATCH', `/v1/orgs/${a.id}/members/${a.owner.membershipId}`, {
      token: a.admin.jwt,
      body: { role: 'member' },
    });
    expect(demote.status).toBe(403);
    expect(
      (await t.request('DELETE', `/v1/orgs/${a.id}/members/${a.owner.membershipId}`, { token: a.admin.jwt }))
        .status,
    ).toBe(403);
    expect((await members(a)).find((m) => m.id === a.owner.membershipId)?.role).toBe('owner');

    const byOwner = await t.request('POST', `/v1/orgs/${a.id}/members`, {
      token: a.owner.jwt,
      body: addOwner,
    });
    expect(byOwner.status).toBe(201);
    expect(byOwner.body.role).toBe('owner');
  });

  it('an admin changes roles below owner; before/after land in the audit log', async () => {
    const res = await t.request('PATCH', `/v1/orgs/${a.id}/members/${a.member.membershipId}`, {
      token: a.admin.jwt,
      body: { role: 'admin' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: a.member.membershipId, role: 'admin' });
    expect((await t.request('GET', `/v1/orgs/${a.id}/api-keys`, { token: a.member.jwt })).status).toBe(200);
    const entry = await auditEntryFor(t, res, 'member.role_changed');
    expect(entry).toMatchObject({
      actor_type: 'user',
      actor_id: a.admin.userId,
      target_id: a.member.membershipId,
      before: { role: 'member' },
      after: { role: 'admin' },
    });
    const back = await t.request('PATCH', `/v1/orgs/${a.id}/members/${a.member.membershipId}`, {
      token: a.key,
      body: { role: 'member' },
    });
    expect((await auditEntryFor(t, back, 'member.role_changed')).actor_type).toBe('api_key');
  });

  it("removing a member ends their access and is audited; another org's member id is a 404", async () => {
    const added = await t.request('POST', `/v1/orgs/${a.id}/members`, {
      token: a.key,
      body: { external_user_id: 'idp_leaver', role: 'admin' },
    });
    const token = await mintJwt({ sub: 'idp_leaver' });
    expect((await t.request('GET', `/v1/orgs/${a.id}`, { token })).status).toBe(200);

    const res = await t.request('DELETE', `/v1/orgs/${a.id}/members/${added.body.id}`, {
      token: a.admin.jwt,
    });
    expect(res.status).toBe(204);
    expect((await t.request('GET', `/v1/orgs/${a.id}`, { token })).status).toBe(404);
    expect((await members(a)).map((m) => m.id)).not.toContain(added.body.id);
    const entry = await auditEntryFor(t, res, 'member.removed');
    expect(entry).toMatchObject({
      actor_id: a.admin.userId,
      before: { user_id: added.body.user_id, role: 'admin' },
    });
    expect(
      (await t.request('DELETE', `/v1/orgs/${a.id}/members/${added.body.id}`, { token: a.key })).status,
    ).toBe(404);

    // B's member, addressed through A.
    for (const [method, body] of [
      ['PATCH', { role: 'admin' }],
      ['DELETE', undefined],
    ] as const) {
      const cross = await t.request(method, `/v1/orgs/${a.id}/members/${b.member.membershipId}`, {
        token: a.key,
        body,
      });
      expect(cross.status).toBe(404);
    }
    expect((await members(b)).find((m) => m.id === b.member.membershipId)?.role).toBe('member');
  });

  describe('the last owner', () => {
    it('can be neither demoted nor removed, even by itself or the org key', async () => {
      const c = await createTestOrg(t, 'Gamma');
      for (const token of [c.owner.jwt, c.key]) {
        const demote = await t.request('PATCH', `/v1/orgs/${c.id}/members/${c.owner.membershipId}`, {
          token,
          body: { role: 'admin' },
        });
        expect(demote.status).toBe(409);
        expect(demote.body.error.code).toBe('conflict');
        expect(
          (await t.request('DELETE', `/v1/orgs/${c.id}/members/${c.owner.membershipId}`, { token })).status,
        ).toBe(409);
      }
      // Setting an owner's role to owner again is not a demotion.
      expect(
        (
          await t.request('PATCH', `/v1/orgs/${c.id}/members/${c.owner.membershipId}`, {
            token: c.key,
            body: { role: 'owner' },
          })
        ).status,
      ).toBe(200);

      // With a second owner, either may go — but never both.
      const second = await t.request('PATCH', `/v1/orgs/${c.id}/members/${c.admin.membershipId}`, {
        token: c.owner.jwt,
        body: { role: 'owner' },
      });
      expect(second.status).toBe(200);
      expect(
        (await t.request('DELETE', `/v1/orgs/${c.id}/members/${c.owner.membershipId}`, { token: c.key }))
          .status,
      ).toBe(204);
      expect(
        (
          await t.request('PATCH', `/v1/orgs/${c.id}/members/${c.admin.membershipId}`, {
            token: c.key,
            body: { role: 'member' },
          })
        ).status,
      ).toBe(409);
      expect((await members(c)).filter((m) => m.role === 'owner').map((m) => m.id)).toEqual([
        c.admin.membershipId,
      ]);
    });

    it('survives two owners demoting each other at the same moment', async () => {
      const d = await createTestOrg(t, 'Delta');
      await t.request('PATCH', `/v1/orgs/${d.id}/members/${d.admin.membershipId}`, {
        token: d.key,
        body: { role: 'owner' },
      });
      const rounds = testDbKind() === 'postgres' ? 5 : 1;
      for (let i = 0; i < rounds; i++) {
        const owners = (await members(d)).filter((m) => m.role === 'owner');
        expect(owners).toHaveLength(2);
        const results = await Promise.all(
          owners.map((o) =>
            t.request('PATCH', `/v1/orgs/${d.id}/members/${o.id}`, { token: d.key, body: { role: 'admin' } }),
          ),
        );
        expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
        const left = (await members(d)).filter((m) => m.role === 'owner');
        expect(left).toHaveLength(1);
        const demoted = owners.find((o) => o.id !== left[0]!.id)!;
        await t.request('PATCH', `/v1/orgs/${d.id}/members/${demoted.id}`, {
          token: d.key,
          body: { role: 'owner' },
        });
      }
    });
  });
});
