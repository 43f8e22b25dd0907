import { type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, Tx } from '../src/db/client.ts';
import { withOrgTx, withSystemTx } from '../src/db/tx.ts';
import { systemAudit } from '../src/modules/audit/recordAudit.ts';
import { createDashboardSession } from '../src/modules/sessions/createDashboardSession.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, type TestApp } from './harness.ts';

/**
 * Row-level security proven on the database itself: raw SQL that "forgot" its WHERE clause,
 * run inside one org's transaction, can neither read nor write another org's rows.
 */
let t: TestApp;
let db: Database;
let a: TestOrg;
let b: TestOrg;

const TENANT_TABLES = [
  'organizations',
  'memberships',
  'api_keys',
  'audit_log',
  'dashboard_sessions',
] as const;
const orgColumn = (table: string) => (table === 'organizations' ? 'id' : 'org_id');

async function rows(tx: Tx, query: SQL): Promise<Record<string, unknown>[]> {
  const res = (await tx.execute(query)) as unknown as { rows: Record<string, unknown>[] };
  return res.rows;
}

/** The database's own message, whichever driver wrapped it. */
async function dbError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as { message: string; cause?: { message?: string } };
    return `${e.message} ${e.cause?.message ?? ''}`;
  }
  throw new Error('expected the database to refuse');
}

async function orgIdsIn(table: string, run: (fn: (tx: Tx) => Promise<unknown[]>) => Promise<unknown[]>) {
  const col = sql.identifier(orgColumn(table));
  const result = (await run((tx) =>
    rows(tx, sql`SELECT DISTINCT ${col} AS org FROM ${sql.identifier(table)}`),
  )) as {
    org: string | null;
  }[];
  return result.map((r) => r.org).sort();
}

beforeAll(async () => {
  t = await startTestApp();
  db = t.deps.database;
  a = await createTestOrg(t, 'Alpha');
  b = await createTestOrg(t, 'Beta');
  for (const org of [a, b]) {
    await createDashboardSession(t.deps, systemAudit(), org.id, { userId: org.member.userId }, undefined);
  }
  await withSystemTx(db, (tx) =>
    tx.execute(sql`INSERT INTO jobs (task, payload) VALUES ('rls.probe', '{}'::jsonb)`),
  );
});
afterAll(() => t.close());

describe(`row-level security (${process.env.TEST_DB ?? 'pglite'})`, () => {
  for (const table of TENANT_TABLES) {
    it(`${table}: an org transaction sees only its own rows; the system sees both`, async () => {
      expect(await orgIdsIn(table, (fn) => withOrgTx(db, a.id, fn))).toEqual([a.id]);
      expect(await orgIdsIn(table, (fn) => withOrgTx(db, b.id, fn))).toEqual([b.id]);
      const all = await orgIdsIn(table, (fn) => withSystemTx(db, fn));
      expect(all).toEqual(expect.arrayContaining([a.id, b.id].sort()));
    });
  }

  it('users: an org transaction sees only its own members, and cannot create or edit others', async () => {
    const ids = (org: TestOrg) => [org.owner.userId, org.admin.userId, org.member.userId].sort();
    const visible = async (org: TestOrg) =>
      (await withOrgTx(db, org.id, (tx) => rows(tx, sql`SELECT id FROM users`))).map((r) => r.id).sort();
    expect(await visible(a)).toEqual(ids(a));
    expect(await visible(b)).toEqual(ids(b));
    const edited = await withOrgTx(db, a.id, (tx) =>
      rows(tx, sql`UPDATE users SET name = 'pwned' WHERE id = ${b.owner.userId} RETURNING id`),
    );
    expect(edited).toEqual([]);
    expect(
      await dbError(
        withOrgTx(db, a.id, (tx) =>
          tx.execute(sql`INSERT INTO users (id, external_id) VALUES ('usr_rlsprobe1', 'x')`),
        ),
      ),
    ).toMatch(/row-level security/);
    const all = await withSystemTx(db, (tx) => rows(tx, sql`SELECT id FROM users`));
    expect(all.map((r) => r.id)).toEqual(expect.arrayContaining([...ids(a), ...ids(b)]));
  });

  it("an UPDATE or DELETE of another org's rows affects nothing", async () => {
    const changed = await withOrgTx(db, a.id, async (tx) => [
      ...(await rows(tx, sql`UPDATE organizations SET name = 'pwned' WHERE id = ${b.id} RETURNING id`)),
      ...(await rows(tx, sql`UPDATE memberships SET role = 'member' WHERE org_id = ${b.id} RETURNING id`)),
      ...(await rows(tx, sql`DELETE FROM memberships WHERE org_id = ${b.id} RETURNING id`)),
      ...(await rows(tx, sql`DELETE FROM api_keys WHERE org_id = ${b.id} RETURNING id`)),
      ...(await rows(
        tx,
        sql`UPDATE dashboard_sessions SET revoked_at = now() WHERE org_id = ${b.id} RETURNING id`,
      )),
    ]);
    expect(changed).toEqual([]);
    // Even with no WHERE at all, only the tenant's own rows are touched.
    const renamed = await withOrgTx(db, a.id, (tx) =>
      rows(tx, sql`UPDATE organizations SET updated_at = now() RETURNING id`),
    );
    expect(renamed).toEqual([{ id: a.id }]);

    const bState = await withSystemTx(db, async (tx) => ({
      name: (await rows(tx, sql`SELECT name FROM organizations WHERE id = ${b.id}`))[0]?.name,
      roles: (await rows(tx, sql`SELECT role FROM memberships WHERE org_id = ${b.id} ORDER BY role`)).map(
        (r) => r.role,
      ),
      keys: (await rows(tx, sql`SELECT id FROM api_keys WHERE org_id = ${b.id}`)).length,
    }));
    expect(bState).toEqual({ name: 'Beta', roles: ['admin', 'member', 'owner'], keys: 1 });
  });

  it("an INSERT with another org's id, or moving a row to it, is refused", async () => {
    const inserts: SQL[] = [
      sql`INSERT INTO memberships (id, org_id, user_id, role) VALUES ('mem_rlsprobe1', ${b.id}, ${a.member.userId}, 'owner')`,
      sql`INSERT INTO api_keys (id, org_id, scope, name, prefix, hash) VALUES ('key_rlsprobe1', ${b.id}, 'org', 'x', 'tg_sk_', 'h1')`,
      sql`INSERT INTO audit_log (org_id, actor_type, action) VALUES (${b.id}, 'system', 'forged')`,
      sql`INSERT INTO organizations (id, name) VALUES ('org_rlsprobe0001', 'Sneaky')`,
      sql`UPDATE memberships SET org_id = ${b.id} WHERE org_id = ${a.id}`,
    ];
    for (const q of inserts) {
      expect(await dbError(withOrgTx(db, a.id, (tx) => tx.execute(q)))).toMatch(/row-level security/);
    }
    const forged = await withSystemTx(db, (tx) =>
      rows(tx, sql`SELECT id FROM audit_log WHERE action = 'forged'`),
    );
    expect(forged).toEqual([]);
  });

  it('jobs are invisible and unwritable inside an org transaction', async () => {
    expect(await withOrgTx(db, a.id, (tx) => rows(tx, sql`SELECT id FROM jobs`))).toEqual([]);
    expect(
      await dbError(
        withOrgTx(db, a.id, (tx) =>
          tx.execute(sql`INSERT INTO jobs (task, payload) VALUES ('evil', '{}'::jsonb)`),
        ),
      ),
    ).toMatch(/row-level security/);
    expect(await withOrgTx(db, a.id, (tx) => rows(tx, sql`DELETE FROM jobs RETURNING id`))).toEqual([]);
    expect(
      (await withSystemTx(db, (tx) => rows(tx, sql`SELECT id FROM jobs WHERE task = 'rls.probe'`))).length,
    ).toBe(1);
  });

  it('the migration ledger is out of reach of both app roles', async () => {
    expect(
      await dbError(withOrgTx(db, a.id, (tx) => tx.execute(sql`SELECT tag FROM tollgate_migrations`))),
    ).toMatch(/permission denied/);
    expect(await dbError(withSystemTx(db, (tx) => tx.execute(sql`DELETE FROM tollgate_migrations`)))).toMatch(
      /permission denied/,
    );
    expect((await db.query('SELECT tag FROM tollgate_migrations')).length).toBeGreaterThan(0);
  });

  it('the tenant setting and role never outlive their transaction on a pooled connection', async () => {
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        withOrgTx(db, i % 2 ? a.id : b.id, (tx) => rows(tx, sql`SELECT 1`)),
      ),
    );
    const seen = await Promise.all(
      Array.from({ length: 8 }, () =>
        withSystemTx(db, (tx) =>
          rows(
            tx,
            sql`SELECT current_user AS role, coalesce(current_setting('tollgate.org_id', true), '') AS org`,
          ),
        ),
      ),
    );
    for (const [r] of seen) expect(r).toEqual({ role: 'tollgate_system', org: '' });
    const plain = await db.query<{ role: string }>('SELECT current_user AS role');
    expect(plain[0]!.role).not.toMatch(/^tollgate_/);
  });

  describe('the audit log is append-only', () => {
    const attempts = [
      "UPDATE audit_log SET action = 'rewritten'",
      'DELETE FROM audit_log',
      'TRUNCATE audit_log',
    ];
    for (const statement of attempts) {
      it(`refuses "${statement}" for the system role and for the table owner`, async () => {
        // The app roles are not even granted TRUNCATE; the trigger stops everything else.
        const refused = /append-only|permission denied/;
        expect(await dbError(withSystemTx(db, (tx) => tx.execute(sql.raw(statement))))).toMatch(refused);
        expect(await dbError(withOrgTx(db, a.id, (tx) => tx.execute(sql.raw(statement))))).toMatch(refused);
        expect(await dbError(db.query(statement))).toMatch(/append-only/);
      });
    }

    it('still has every entry afterwards', async () => {
      const left = await withSystemTx(db, (tx) =>
        rows(
          tx,
          sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE action = 'rewritten')::int AS rewritten FROM audit_log`,
        ),
      );
      expect(left[0]!.n).toBeGreaterThan(0);
      expect(left[0]!.rewritten).toBe(0);
    });
  });
});
