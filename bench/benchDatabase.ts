import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, type Database } from '../apps/server/src/db/client.ts';

export interface BenchDatabase {
  database: Database;
  /** The fresh database's URL on PostgreSQL; undefined on PGlite. */
  url: string | undefined;
  /** What the figures ran on, for the report. */
  label: string;
  /** Closes the pool and drops the fresh database. */
  close(): Promise<void>;
}

/**
 * The database every benchmark runs on: a fresh PostgreSQL database on the server named by
 * BENCH_DATABASE_URL (or TEST_DATABASE_URL) — created for the run, dropped by `close` — else
 * PGlite in memory. The label records the server version and its durability settings, since
 * `fsync` and `synchronous_commit` decide what a commit costs.
 */
export async function openBenchDatabase(poolSize: number): Promise<BenchDatabase> {
  const base = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || undefined;
  if (!base) {
    const database = await createDatabase({ pgliteDataDir: 'memory://' });
    return {
      database,
      url: undefined,
      label: 'PGlite in memory, in this process (one connection)',
      close: () => database.close(),
    };
  }
  const name = `tg_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  const settings = await admin.query<{ v: string; f: string; s: string }>(
    `SELECT current_setting('server_version') v, current_setting('fsync') f, current_setting('synchronous_commit') s`,
  );
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  const s = settings.rows[0]!;
  const database = await createDatabase({ url: u.toString(), poolSize });
  return {
    database,
    url: u.toString(),
    label: `PostgreSQL ${s.v} at ${u.host} (fresh database ${name}; fsync=${s.f}, synchronous_commit=${s.s}); pool ${poolSize}`,
    async close() {
      await database.close().catch(() => {});
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * The database driver itself, outside Tollgate — the raw ceiling each benchmark reports beside
 * its own figure: a pool of `poolSize` on PostgreSQL, PGlite's own client otherwise. Returns rows.
 */
export function rawDriver(bench: Pick<BenchDatabase, 'database' | 'url'>, poolSize: number) {
  if (bench.url) {
    const pool = new pg.Pool({ connectionString: bench.url, max: poolSize });
    pool.on('error', () => {}); // an idle connection dropped by the server is replaced, not fatal
    return {
      query: async (text: string, values: unknown[]): Promise<unknown[]> =>
        (await pool.query(text, values)).rows,
      close: () => pool.end(),
    };
  }
  return {
    query: (text: string, values: unknown[]): Promise<unknown[]> => bench.database.query(text, values),
    close: async () => {},
  };
}
