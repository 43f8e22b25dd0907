import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import * as schema from './schema/index.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * One handle over either engine. `query` runs raw SQL outside any transaction (migrations,
 * health checks); everything tenant-related goes through withOrgTx / withSystemTx.
 */
export interface Database {
  kind: 'pglite' | 'postgres';
  db: Db;
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs `fn` on one dedicated connection (needed for session-level advisory locks). */
  withConnection<T>(fn: (query: Database['query']) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /**
   * Where LISTEN happens (live updates): PGlite's own client, or a factory for a dedicated
   * node-postgres Client outside the pool (a pooled connection would lose its LISTEN on release).
   */
  listener?: { kind: 'pglite'; client: PGlite } | { kind: 'postgres'; newClient: () => pg.Client };
}

export interface DatabaseOptions {
  url?: string | undefined;
  pgliteDataDir?: string;
  poolSize?: number;
}

export async function createDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url) return createPostgres(opts.url, opts.poolSize ?? 10);
  return createPglite(opts.pgliteDataDir ?? 'memory://');
}

async function createPostgres(url: string, max: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 30_000 });
  // A dropped idle connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = drizzlePg(pool, { schema }) as unknown as Db;
  const query: Database['query'] = async (text, params) =>
    (await pool.query(text, params as unknown[])).rows as never;
  return {
    kind: 'postgres',
    db,
    query,
    async withConnection(fn) {
      const client = await pool.connect();
      try {
        return await fn(
          async (text, params) => (await client.query(text, params as unknown[])).rows as never,
        );
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
    // keepAlive: a LISTEN connection is idle for long stretches; half-open sockets must be noticed.
    listener: {
      kind: 'postgres',
      newClient: () =>
        new pg.Client({ connectionString: url, keepAlive: true, connectionTimeoutMillis: 10_000 }),
    },
  };
}

async function createPglite(dataDir: string): Promise<Database> {
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const client = await PGlite.create(dataDir);
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  const query: Database['query'] = async (text, params) =>
    (await client.query(text, params as unknown[])).rows as never;
  return {
    kind: 'pglite',
    db,
    query,
    // PGlite is a single connection already.
    withConnection: (fn) => fn(query),
    close: () => client.close(),
    listener: { kind: 'pglite', client },
  };
}
