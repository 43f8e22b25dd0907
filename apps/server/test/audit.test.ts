import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntryView } from './auditTrail.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from './harness.ts';

let t: TestApp;
let a: TestOrg;
let b: TestOrg;
/** An instant between the first and second batch of A's changes. */
let midpoint: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  t = await startTestApp();
  a = await createTestOrg(t, 'Alpha');
  b = await createTestOrg(t, 'Beta');
  await t.request('PATCH', `/v1/orgs/${a.id}`, { token: a.admin.jwt, body: { name: 'Alpha 1' } });
  await t.request('POST', `/v1/orgs/${b.id}/members`, {
    token: b.key,
    body: { external_user_id: 'b_extra', role: 'member' },
  });
  await sleep(30);
  midpoint = new Date().toISOString();
  await sleep(30);
  await t.request('PATCH', `/v1/orgs/${a.id}`, { token: a.admin.jwt, body: { name: 'Alpha 2' } });
  await t.request('POST', `/v1/orgs/${a.id}/members`, {
    token: a.key,
    body: { external_user_id: 'a_extra', role: 'member' },
  });
});
afterAll(() => t.close());

async function read(
  path: string,
  token: string,
): Promise<{ data: AuditEntryView[]; has_more: boolean; next_cursor: number | null }> {
  const res = await t.request('GET', path, { token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

describe('audit log', () => {
  it("org admins read their own org's entries only, newest first", async () => {
    const { data } = await read(`/v1/orgs/${a.id}/audit-log?limit=100`, a.admin.jwt);
    expect(data.length).toBeGreaterThanOrEqual(6);
    expect(new Set(data.map((e) => e.org_id))).toEqual(new Set([a.id]));
    const ids = data.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
    expect(data[0]).toMatchObject({ action: 'member.added', actor_type: 'api_key', actor_id: a.keyId });
    expect(JSON.stringify(data)).not.toContain('b_extra');
  });

  it('members get 403, other orgs 404', async () => {
    expect((await t.request('GET', `/v1/orgs/${a.id}/audit-log`, { token: a.member.jwt })).status).toBe(403);
    expect((await t.request('GET', `/v1/orgs/${a.id}/audit-log`, { token: b.admin.jwt })).status).toBe(404);
    expect((await t.request('GET', '/v1/admin/audit-log', { token: a.owner.jwt })).status).toBe(403);
  });

  it('filters by action, actor type and time', async () => {
    const updates = await read(`/v1/orgs/${a.id}/audit-log?action=org.updated`, a.admin.jwt);
    expect(updates.data.map((e) => e.after)).toEqual([{ name: 'Alpha 2' }, { name: 'Alpha 1' }]);
    expect(updates.data.every((e) => e.actor_type === 'user' && e.actor_id === a.admin.userId)).toBe(true);

    const byKey = await read(`/v1/orgs/${a.id}/audit-log?actor_type=api_key`, a.admin.jwt);
    expect(byKey.data.map((e) => e.action)).toEqual(['member.added']);
    const bySystem = await read(`/v1/orgs/${a.id}/audit-log?actor_type=system&limit=100`, a.admin.jwt);
    expect(bySystem.data.length).toBeGreaterThan(0);
    expect(bySystem.data.every((e) => e.actor_type === 'system')).toBe(true);

    const since = await read(`/v1/orgs/${a.id}/audit-log?action=org.updated&since=${midpoint}`, a.admin.jwt);
    expect(since.data.map((e) => (e.after as { name: string }).name)).toEqual(['Alpha 2']);
    const until = await read(`/v1/orgs/${a.id}/audit-log?action=org.updated&until=${midpoint}`, a.admin.jwt);
    expect(until.data.map((e) => (e.after as { name: string }).name)).toEqual(['Alpha 1']);
    const combined = await read(
      `/v1/orgs/${a.id}/audit-log?since=${midpoint}&until=${new Date(Date.now() + 60_000).toISOString()}&actor_type=user`,
      a.admin.jwt,
    );
    expect(combined.data.map((e) => e.action)).toEqual(['org.updated']);
  });

  it('cursor pagination walks every entry exactly once', async () => {
    const everything = (await read(`/v1/orgs/${a.id}/audit-log?limit=100`, a.admin.jwt)).data.map(
      (e) => e.id,
    );
    const walked: number[] = [];
    let cursor = '';
    for (let i = 0; i < 100; i++) {
      const page = await read(`/v1/orgs/${a.id}/audit-log?limit=2${cursor}`, a.admin.jwt);
      expect(page.data.length).toBeLessThanOrEqual(2);
      walked.push(...page.data.map((e) => e.id));
      if (!page.has_more) {
        expect(page.next_cursor).toBeNull();
        break;
      }
      cursor = `&cursor=${page.next_cursor}`;
    }
    expect(walked).toEqual(everything);
  });

  it('operators read every org and filter by org_id', async () => {
    const all = await read('/v1/admin/audit-log?limit=100', TEST_ADMIN_KEY);
    const orgs = new Set(all.data.map((e) => e.org_id));
    expect(orgs.has(a.id) && orgs.has(b.id)).toBe(true);
    const onlyB = await read(`/v1/admin/audit-log?org_id=${b.id}&limit=100`, TEST_ADMIN_KEY);
    expect(onlyB.data.length).toBeGreaterThan(0);
    expect(new Set(onlyB.data.map((e) => e.org_id))).toEqual(new Set([b.id]));
    expect(JSON.stringify(onlyB.data)).toContain('b_extra');
    // Operators may also use the org route.
    expect((await read(`/v1/orgs/${b.id}/audit-log?limit=1`, TEST_ADMIN_KEY)).data[0]!.org_id).toBe(b.id);
  });

  it('malformed filters are a 400 naming the field', async () => {
    for (const [query, field] of [
      ['since=yesterday', 'since'],
      ['actor_type=robot', 'actor_type'],
      ['cursor=-3', 'cursor'],
      ['limit=0', 'limit'],
      ['colour=blue', 'colour'],
    ]) {
      const res = await t.request('GET', `/v1/orgs/${a.id}/audit-log?${query}`, { token: a.admin.jwt });
      expect(res.status, query).toBe(400);
      expect(
        res.body.error.details.issues.map((i: { field: string }) => i.field),
        query,
      ).toContain(field);
    }
  });
});
