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

/**
 * Runs `fn` as the system role inside the caller's transaction, then restores the caller's role,
 * so a tenant transaction can write a system-only row (a job, a side-effect key) atomically with
 * its own change while the rest of it stays tenant-scoped. Both settings are transaction-local.
 * If `fn` fails, the aborted transaction (or savepoint) discards the role change with it;
 * restoring there would only replace the real error with "current transaction is aborted".
 */
export async function asSystemRole<T>(tx: Tx, fn: () => Promise<T>): Promise<T> {
  const result = (await tx.execute(sql`SELECT current_setting('role') AS role`)) as unknown as {
    rows: { role: string }[];
  };
  const previous = result.rows[0]?.role ?? 'none';
  if (previous === 'tollgate_system') return fn();
  await tx.execute(sql`SELECT set_config('role', 'tollgate_system', true)`);
  const value = await fn();
  await tx.execute(sql`SELECT set_config('role', ${previous}, true)`);
  return value;
}
