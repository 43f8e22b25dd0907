import pg from 'pg';
import { createDatabase, type Database } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { randomToken } from '../src/ids.ts';

/**
 * A fresh, migrated database for one test file: PGlite in memory by default, or a brand-new
 * database on the Postgres server named by TEST_DATABASE_URL when TEST_DB=postgres.
 * `dispose` drops it again.
 */
export interface TestDatabase {
  database: Database;
  url: string | undefined;
  dispose(): Promise<void>;
}

export function testDbKind(): 'pglite' | 'postgres' {
  return process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (testDbKind() === 'pglite') {
    const database = await createDatabase({ pgliteDataDir: 'memory://' });
    await migrate(database);
    return { database, url: undefined, dispose: () => database.close() };
  }
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error('TEST_DB=postgres needs TEST_DATABASE_URL');
  const name = `tg_test_${randomToken(10).toLowerCase()}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = withDatabaseName(base, name);
  const database = await createDatabase({ url, poolSize: 20 });
  await migrate(database);
  return {
    database,
    url,
    async dispose() {
      await database.close();
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

export function withDatabaseName(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
