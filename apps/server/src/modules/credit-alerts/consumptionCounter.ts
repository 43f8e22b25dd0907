import { sql } from 'drizzle-orm';
import type { Database, Tx } from '../../db/client.ts';

const HOUR = 3_600_000;

// Per database and process: org → hour start (ms) → credits not yet added to the table.
const pending = new WeakMap<Database, Map<string, Map<number, number>>>();

/**
 * Counts consumption in memory (no database work on the hot path). Bucketed by the change's
 * own time, so a change reported late still lands in the hour it happened.
 */
export function countConsumption(database: Database, orgId: string, at: Date, consumed: number): void {
  let orgs = pending.get(database);
  if (!orgs) {
    orgs = new Map();
    pending.set(database, orgs);
  }
  let hours = orgs.get(orgId);
  if (!hours) {
    hours = new Map();
    orgs.set(orgId, hours);
  }
  const hour = Math.floor(at.getTime() / HOUR) * HOUR;
  hours.set(hour, (hours.get(hour) ?? 0) + consumed);
}

/**
 * Adds this process's pending counts for the org to credit_usage_hours (additive upserts, so
 * any number of processes can flush). The counts leave memory before the first await: two
 * concurrent flushes never add the same credits twice; a failed flush loses at most these.
 */
export async function flushConsumption(tx: Tx, database: Database, orgId: string): Promise<void> {
  const hours = pending.get(database)?.get(orgId);
  if (!hours || hours.size === 0) return;
  pending.get(database)!.delete(orgId);
  for (const [hour, consumed] of hours)
    await tx.execute(sql`
      INSERT INTO credit_usage_hours (org_id, hour, consumed)
      VALUES (${orgId}, ${new Date(hour).toISOString()}, ${consumed})
      ON CONFLICT (org_id, hour) DO UPDATE SET consumed = credit_usage_hours.consumed + excluded.consumed`);
}
