import { sql } from 'drizzle-orm';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { raiseAlert } from './raiseAlert.ts';

const HOUR = 3_600_000;
/** The trailing window the hourly average is taken over. */
export const BASELINE_HOURS = 7 * 24;
/** Less history than this and there is no meaningful average: no alert. */
export const MIN_BASELINE_HOURS = 24;

type Rows<T> = { rows: T[] };

/**
 * Unusual usage: the credits consumed in the last 60 minutes exceed `factor` × the average
 * hourly consumption over the 7 days before that hour (or since the org's first ledger entry,
 * when that is later; at least 24 hours of history and a positive average are required).
 *
 * One alert per episode: the conditional UPDATE of `unusual_usage_alerted_hour` (null = armed)
 * lets one evaluator raise it; an evaluation that finds usage back at or under the bound re-arms.
 * Consumption counts ledger entries of kind consume and overage (their negative amounts).
 */
export async function evaluateUnusualUsage(
  deps: Pick<Deps, 'database' | 'clock'>,
  orgId: string,
  factor: number,
): Promise<void> {
  const now = deps.clock.now();
  const hourAgo = new Date(now.getTime() - HOUR);
  const windowStart = new Date(hourAgo.getTime() - BASELINE_HOURS * HOUR);
  await withOrgTx(deps.database, orgId, async (tx) => {
    const r = (await tx.execute(sql`
      SELECT
        coalesce(sum(-amount) FILTER (WHERE created_at >= ${hourAgo.toISOString()}), 0) AS last_hour,
        coalesce(sum(-amount) FILTER (WHERE created_at < ${hourAgo.toISOString()}), 0) AS trailing,
        (SELECT created_at FROM credit_ledger WHERE org_id = ${orgId} ORDER BY id LIMIT 1) AS first_at
      FROM credit_ledger
      WHERE org_id = ${orgId} AND kind IN ('consume', 'overage') AND amount < 0
        AND created_at >= ${windowStart.toISOString()}`)) as unknown as Rows<{
      last_hour: string | number;
      trailing: string | number;
      first_at: string | Date | null;
    }>;
    const row = r.rows[0];
    if (!row?.first_at) return;
    const since = Math.max(windowStart.getTime(), new Date(row.first_at).getTime());
    const hours = (hourAgo.getTime() - since) / HOUR;
    if (hours < MIN_BASELINE_HOURS) return;
    const average = Number(row.trailing) / hours;
    const lastHour = Number(row.last_hour);
    if (average <= 0) return;
    if (lastHour <= factor * average) {
      await tx.execute(sql`
        UPDATE credit_settings SET unusual_usage_alerted_hour = NULL
         WHERE org_id = ${orgId} AND unusual_usage_alerted_hour IS NOT NULL`);
      return;
    }
    const claimed = (await tx.execute(sql`
      UPDATE credit_settings SET unusual_usage_alerted_hour = ${now.toISOString()}
       WHERE org_id = ${orgId} AND unusual_usage_alerted_hour IS NULL
      RETURNING org_id`)) as unknown as Rows<unknown>;
    if (claimed.rows.length === 0) return;
    await raiseAlert(tx, {
      orgId,
      kind: 'unusual_usage',
      causeKey: `credits.unusual_usage:${orgId}:${now.toISOString()}`,
      data: {
        last_hour: lastHour,
        hourly_average: Math.round(average * 100) / 100,
        factor,
        baseline_hours: Math.round(hours),
      },
      at: now,
    });
  });
}
