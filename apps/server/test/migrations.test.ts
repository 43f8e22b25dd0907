import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { createClock } from '../src/clock.ts';
import { createDatabase, type Database } from '../src/db/client.ts';
import { loadMigrations, migrate } from '../src/db/migrate.ts';
import { loadEnv } from '../src/env.ts';
import { createLogger } from '../src/http/logger.ts';
import { randomToken } from '../src/ids.ts';
import { createApiKeyCache } from '../src/modules/api-keys/authenticateApiKey.ts';
import { createStripeClient } from '../src/stripe/createStripeClient.ts';
import { startTestApp, type TestApp } from './harness.ts';
import { testDbKind, withDatabaseName } from './testDatabase.ts';

const onPostgres = testDbKind() === 'postgres';
const cleanups: (() => Promise<void>)[] = [];
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  cleanups.push(() => t.close());
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A brand-new, unmigrated database (in-memory PGlite, or a fresh database on the server). */
async function freshDatabase(poolSize = 5): Promise<{ open: () => Promise<Database> }> {
  if (!onPostgres) {
    const database = await createDatabase({ pgliteDataDir: 'memory://' });
    cleanups.push(() => database.close());
    return { open: async () => database };
  }
  const base = process.env.TEST_DATABASE_URL!;
  const name = `tg_test_mig_${randomToken(10).toLowerCase()}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.end();
  });
  return {
    open: async () => {
      const database = await createDatabase({ url: withDatabaseName(base, name), poolSize });
      cleanups.push(() => database.close());
      return database;
    },
  };
}

/** The real app over `database`, listening on an ephemeral port. */
async function serve(database: Database) {
  const env = loadEnv({ NODE_ENV: 'test', TOLLGATE_DEMO: 'false', LOG_LEVEL: 'silent' });
  const app = await buildApp(
    {
      env,
      database,
      clock: createClock(),
      logger: createLogger('silent'),
      jwt: null,
      apiKeyCache: createApiKeyCache(),
      stripe: createStripeClient({ secretKey: 'sk_test_unused_00000000' }),
    },
    { dashboardDir: '/nonexistent' },
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => app.close());
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return async () => {
    const res = await fetch(`${url}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };
}

const all = loadMigrations().map((m) => m.tag);

describe('migrations', () => {
  // Postgres only: PGlite is one in-process connection, so there is no second process to race.
  it.skipIf(!onPostgres)(
    'two processes migrating one fresh Postgres database at once apply each migration exactly once (Postgres only: PGlite has no second connection to race)',
    async () => {
      const fresh = await freshDatabase();
      // Two separate pools = two processes starting at the same moment.
      const [one, two] = await Promise.all([fresh.open(), fresh.open()]);
      const [appliedByOne, appliedByTwo] = await Promise.all([migrate(one), migrate(two)]);
      expect([...appliedByOne, ...appliedByTwo].sort()).toEqual([...all].sort());
      const recorded = await one.query<{ tag: string }>('SELECT tag FROM tollgate_migrations ORDER BY tag');
      expect(recorded.map((r) => r.tag)).toEqual([...all].sort());
      expect(await migrate(two)).toEqual([]);
      expect(await migrate(one)).toEqual([]);
    },
  );

  it('a second run applies nothing and /readyz reports ready', async () => {
    expect(await migrate(t.deps.database)).toEqual([]);
    const ready = await t.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', database: t.deps.database.kind });
  });

  it('/readyz answers 503 "migrations pending" until every migration is applied', async () => {
    const fresh = await freshDatabase();
    const database = await fresh.open();
    const readyz = await serve(database);

    expect(await readyz()).toEqual({
      status: 503,
      body: { status: 'unready', reason: 'migrations pending' },
    });
    expect(await migrate(database, loadMigrations().slice(0, 1))).toEqual(all.slice(0, 1));
    expect(await readyz()).toEqual({
      status: 503,
      body: { status: 'unready', reason: 'migrations pending' },
    });
    expect(await migrate(database)).toEqual(all.slice(1));
    expect((await readyz()).status).toBe(200);
  });

  it('refuses to start when an applied migration was edited afterwards', async () => {
    const migrations = loadMigrations();
    const edited = migrations.map((m, i) => (i === 0 ? { ...m, hash: `${m.hash}0` } : m));
    await expect(migrate(t.deps.database, edited)).rejects.toThrow(/was changed after it was applied/);
  });
});
