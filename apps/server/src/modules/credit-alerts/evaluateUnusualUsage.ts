import { sql } from 'drizzle-orm';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { flushConsumption } from './consumptionCounter.ts';
import { raiseAlert } from './raiseAlert.ts';

const HOUR = 3_600_000;
/** The trailing window the hourly average is taken over. */
export const BASELINE_HOURS = 7 * 24;
/** Less history than this and there is no meaningful average: no alert. */
export const MIN_BASELINE_HOURS = 24;

type Rows<T> = { rows: T[] };

/**
 * Unusual usage: the credits consumed in the last 60 minutes exceed `factor` × the average
 * hourly consumption over the 7 days before the current clock hour (or since counting began,
 * when later: at least 24 hours of history and a positive average are required).
 *
 * Counts come from credit_usage_hours (hourly buckets fed by consumptionCounter). The last 60
 * minutes are estimated the sliding-window way: the current hour so far plus the previous hour
 * weighted by the part of it still inside the window.
 *
 * One alert per episode: the conditional UPDATE of `unusual_usage_alerted_hour` (null = armed)
 * lets one evaluator raise it; an evaluation that finds usage back at or under the bound re-arms.
 */
export async function evaluateUnusualUsage(
  deps: Pick<Deps, 'database' | 'clock'>,
  orgId: string,
  factor: number,
): Promise<void> {
  const now = deps.clock.now();
  const hourStart = Math.floor(now.getTime() / HOUR) * HOUR;
  const previousHour = hourStart - HOUR;
  const windowStart = hourStart - BASELINE_HOURS * HOUR;
  await withOrgTx(deps.database, orgId, async (tx) => {
    await flushConsumption(tx, deps.database, orgId);
    const r = (await tx.execute(sql`
      SELECT extract(epoch FROM hour) * 1000 AS hour, consumed FROM credit_usage_hours
       WHERE org_id = ${orgId} AND hour >= ${new Date(windowStart - HOUR).toISOString()}
       ORDER BY hour`)) as unknown as Rows<{ hour: string | number; consumed: string | number }>;
    const buckets = r.rows.map((b) => ({ hour: Number(b.hour), consumed: Number(b.consumed) }));
    const first = buckets[0];
    if (!first) return;
    const at = (h: number) => buckets.find((b) => b.hour === h)?.consumed ?? 0;
    const elapsed = (now.getTime() - hourStart) / HOUR;
    const lastHour = Math.round(at(hourStart) + at(previousHour) * (1 - elapsed));
    const since = Math.max(windowStart, first.hour);
    const hours = (hourStart - since) / HOUR;
    if (hours < MIN_BASELINE_HOURS) return;
    const trailing = buckets
      .filter((b) => b.hour >= since && b.hour < hourStart)
      .reduce((s, b) => s + b.consumed, 0);
    const average = trailing / hours;
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
  // Keep the table to the window (plus a day), org by org, off the hot path.
  await withOrgTx(deps.database, orgId, (tx) =>
    tx.execute(sql`DELETE FROM credit_usage_hours
                    WHERE org_id = ${orgId} AND hour < ${new Date(windowStart - 24 * HOUR).toISOString()}`),
  );
}
