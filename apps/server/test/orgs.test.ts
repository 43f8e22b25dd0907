import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntryFor } from './auditTrail.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { mintJwt, startTestApp, TEST_ADMIN_KEY, type TestApp } from './harness.ts';

let t: TestApp;
let a: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  a = await createTestOrg(t, 'Alpha');
});
afterAll(() => t.close());

const asOperator = (method: string, path: string, body?: unknown) =>
  t.request(method, path, { token: TEST_ADMIN_KEY, body });

describe('organisations', () => {
  it('an operator creates an org with its first owner, and the owner can use it at once', async () => {
    const res = await asOperator('POST', '/v1/orgs', {
      name: 'Initech',
      billing_email: 'billing@initech.test',
      external_id: 'org_idp_initech',
      owner: { external_user_id: 'idp_bill', email: 'bill@initech.test', name: 'Bill' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^org_/),
      name: 'Initech',
      billing_email: 'billing@initech.test',
      external_id: 'org_idp_initech',
      stripe_customer_id: null,
      subscription_status: null,
    });
    const owner = await mintJwt({ sub: 'idp_bill' });
    const members = await t.request('GET', `/v1/orgs/${res.body.id}/members`, { token: owner });
    expect(members.status).toBe(200);
    expect(members.body.data).toEqual([
      expect.objectContaining({ external_user_id: 'idp_bill', role: 'owner', name: 'Bill' }),
    ]);
    expect((await t.request('GET', `/v1/orgs/${res.body.id}/api-keys`, { token: owner })).status).toBe(200);

    const entry = await auditEntryFor(t, res, 'org.created');
    expect(entry).toMatchObject({ org_id: res.body.id, actor_type: 'platform', target_id: res.body.id });
    expect(entry.after).toMatchObject({ name: 'Initech' });
    const added = await auditEntryFor(t, res, 'member.added');
    expect(added.after).toMatchObject({ external_user_id: 'idp_bill', role: 'owner' });

    const dup = await asOperator('POST', '/v1/orgs', {
      name: 'Initech again',
      external_id: 'org_idp_initech',
    });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('conflict');
  });

  it('an org may start without an owner; bad input names the field', async () => {
    const res = await asOperator('POST', '/v1/orgs', { name: 'Ownerless' });
    expect(res.status).toBe(201);
    expect((await asOperator('GET', `/v1/orgs/${res.body.id}/members`)).body.data).toEqual([]);

    const bad = await asOperator('POST', '/v1/orgs', {
      name: '',
      owner: { user_id: 'usr_x', external_user_id: 'y' },
    });
    expect(bad.status).toBe(400);
    const fields = bad.body.error.details.issues.map((i: { field: string }) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'owner.user_id']));
    const unknownOwner = await asOperator('POST', '/v1/orgs', {
      name: 'Ghost owned',
      owner: { user_id: 'usr_doesNotExist0000000' },
    });
    expect(unknownOwner.status).toBe(404);
  });

  it('admins and operators update name and billing email; each change is audited with before/after', async () => {
    const res = await t.request('PATCH', `/v1/orgs/${a.id}`, {
      token: a.admin.jwt,
      body: { name: 'Alpha Ltd', billing_email: 'ap@alpha.test' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'Alpha Ltd', billing_email: 'ap@alpha.test' });
    expect(Date.parse(res.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(res.body.created_at));
    const entry = await auditEntryFor(t, res, 'org.updated');
    expect(entry).toMatchObject({
      org_id: a.id,
      actor_type: 'user',
      actor_id: a.admin.userId,
      before: { name: 'Alpha', billing_email: expect.stringContaining('@') },
      after: { name: 'Alpha Ltd', billing_email: 'ap@alpha.test' },
    });

    const cleared = await asOperator('PATCH', `/v1/orgs/${a.id}`, { billing_email: null });
    expect(cleared.body).toMatchObject({ name: 'Alpha Ltd', billing_email: null });
    expect((await auditEntryFor(t, cleared, 'org.updated')).actor_type).toBe('platform');
    expect(
      (await t.request('GET', `/v1/orgs/${a.id}`, { token: a.member.jwt })).body.billing_email,
    ).toBeNull();
  });

  describe('the operator list (/v1/admin/orgs)', () => {
    const names = ['Pager 1', 'Pager 2', 'Pager 3', 'Pager 4', 'Pager 5', '100% Pager'];
    let pagerIds: string[];
    beforeAll(async () => {
      pagerIds = [];
      for (const name of names) pagerIds.push((await asOperator('POST', '/v1/orgs', { name })).body.id);
    });

    async function collect(query: string) {
      const seen: string[] = [];
      let after = '';
      for (let page = 0; page < 50; page++) {
        const res = await asOperator('GET', `/v1/admin/orgs?limit=2${query}${after}`);
        expect(res.status).toBe(200);
        expect(res.body.data.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.data.map((o: { id: string }) => o.id));
        if (!res.body.has_more) return seen;
        after = `&starting_after=${res.body.data.at(-1).id}`;
      }
      throw new Error('pagination never ended');
    }

    it('pages through every org exactly once', async () => {
      const all = await collect('');
      expect(new Set(all).size).toBe(all.length);
      expect(all).toEqual(expect.arrayContaining([a.id, ...pagerIds]));
      expect(all).toEqual([...all].sort());
    });

    it('q searches names (wildcards literal) and pages through the matches', async () => {
      const matches = await collect('&q=pager');
      expect(matches.sort()).toEqual([...pagerIds].sort());
      expect(await collect('&q=%25')).toEqual([pagerIds[5]]);
      expect(await collect(`&q=${a.id}`)).toEqual([a.id]);
      expect(await collect('&q=no-such-org')).toEqual([]);
    });
  });
});
