import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';

/** side_effects and the outgoing-webhook tables are visible only to this role (0005_webhooks.sql). */
const SYSTEM_ROLE = 'tollgate_system';

/**
 * Runs `fn` as the system role inside the caller's transaction and restores the caller's role,
 * so emitting from a tenant transaction (withOrgTx) works while the rest of that transaction
 * stays tenant-scoped. Same approach as jobs/enqueue.ts. Both settings are transaction-local; if
 * `fn` fails, the aborted transaction (or savepoint) discards the role change with it.
 */
export async function asSystemRole<T>(tx: Tx, fn: () => Promise<T>): Promise<T> {
  const result = (await tx.execute(sql`SELECT current_setting('role') AS role`)) as unknown as {
    rows: { role: string }[];
  };
  const previous = result.rows[0]?.role ?? 'none';
  if (previous === SYSTEM_ROLE) return fn();
  await tx.execute(sql`SELECT set_config('role', ${SYSTEM_ROLE}, true)`);
  const value = await fn();
  await tx.execute(sql`SELECT set_config('role', ${previous}, true)`);
  return value;
}
