import { sql } from 'drizzle-orm';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { enqueueJob } from '../../jobs/index.ts';
import { autoTopUpTask } from './autoTopUpTask.ts';

type Rows<T> = { rows: T[] };

/** After a failed purchase, a balance that stays below the threshold tries again after this. */
export const AUTO_TOP_UP_RETRY_MS = 60 * 60_000;

/**
 * Starts an auto top-up when the balance is below the org's threshold and none is in flight.
 * The conditional UPDATE claims `auto_top_up_in_flight` (at most one purchase per org, across
 * processes) and numbers the attempt; the purchase itself runs in a job enqueued in the same
 * transaction, never on the consuming request. A new attempt needs a fresh fall below the
 * threshold (`crossing`) or an hour since the last one, so a declined card is not retried on
 * every consumption. Returns the attempt number, or null when nothing was started.
 */
export async function claimAutoTopUp(
  deps: Pick<Deps, 'database' | 'clock'>,
  orgId: string,
  crossing: boolean,
): Promise<number | null> {
  const now = deps.clock.now();
  const retryBefore = new Date(now.getTime() - AUTO_TOP_UP_RETRY_MS);
  return withOrgTx(deps.database, orgId, async (tx) => {
    const r = (await tx.execute(sql`
      UPDATE credit_settings
         SET auto_top_up_attempts = auto_top_up_attempts + 1,
             auto_top_up_in_flight = 'attempt:' || (auto_top_up_attempts + 1),
             auto_top_up_started_at = ${now.toISOString()}
       WHERE org_id = ${orgId} AND auto_top_up_enabled AND auto_top_up_in_flight IS NULL
         AND auto_top_up_pack IS NOT NULL AND auto_top_up_threshold IS NOT NULL
         AND (${crossing} OR auto_top_up_started_at IS NULL
              OR auto_top_up_started_at < ${retryBefore.toISOString()})
         AND coalesce((SELECT balance FROM credit_accounts WHERE org_id = ${orgId}), 0) < auto_top_up_threshold
      RETURNING auto_top_up_attempts AS attempt`)) as unknown as Rows<{ attempt: number }>;
    const attempt = r.rows[0]?.attempt;
    if (attempt === undefined) return null;
    await enqueueJob(
      tx,
      autoTopUpTask.job({ orgId, attempt }, { dedupeKey: `credits.auto_top_up:${orgId}:${attempt}` }),
    );
    return attempt;
  });
}

/**
 * Clears the in-flight purchase once its pack grant exists (the ledger grants packs from the
 * payment_intent.succeeded webhook; grants carry the payment intent as `source_ref`). Called on
 * balance increases, so the next fall below the threshold can buy again. Clearing the start time
 * lifts the retry pause (meant for failures): a balance still below the threshold after a
 * successful top-up buys again on the next consumption.
 */
export async function completeAutoTopUp(deps: Pick<Deps, 'database'>, orgId: string): Promise<boolean> {
  return withOrgTx(deps.database, orgId, async (tx) => {
    const r = (await tx.execute(sql`
      UPDATE credit_settings s SET auto_top_up_in_flight = NULL, auto_top_up_started_at = NULL
       WHERE s.org_id = ${orgId} AND s.auto_top_up_in_flight LIKE 'pi\\_%'
         AND EXISTS (SELECT 1 FROM credit_grants g
                      WHERE g.org_id = ${orgId} AND g.source = 'pack'
                        AND (g.source_ref = s.auto_top_up_in_flight
                             OR g.cause_key LIKE 'credits.pack:' || s.auto_top_up_in_flight || ':%'))
      RETURNING s.org_id`)) as unknown as Rows<unknown>;
    return r.rows.length > 0;
  });
}
