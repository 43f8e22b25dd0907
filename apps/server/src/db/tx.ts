import { sql } from 'drizzle-orm';
import type { Database, Tx } from './client.ts';

/**
 * Runs `fn` in a transaction as `tollgate_app` with the tenant set: row-level security then
 * hides and refuses every other org's rows, even for a query that forgot its WHERE clause.
 * Both settings are transaction-local, so a pooled connection never leaks them.
 */
export async function withOrgTx<T>(
  database: Database,
  orgId: string,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  return database.db.transaction(async (tx) => {
    await tx.execute(
      sql`SELECT set_config('tollgate.org_id', ${orgId}, true), set_config('role', 'tollgate_app', true)`,
    );
    return fn(tx);
  });
}

/** For workers and platform operators: every org visible, still never as the table owner. */
export async function withSystemTx<T>(database: Database, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return database.db.transaction(async (tx) => {
    await tx.execute(sql`SELECT set_config('role', 'tollgate_system', true)`);
    return fn(tx);
  });
}
