import { z } from 'zod';
import { withOrgTx, withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { defineTask, enqueueJobInSystemTx, type JobContext } from '../../jobs/index.ts';
import type { BalanceChange } from '../credit-alerts/afterBalanceChange.ts';
import { expireOrgCredits } from './ledger.ts';
import { notifyBalanceChanges } from './notifyBalanceChanges.ts';
import { orgsWithExpiredCredits } from './repo.ts';

/** How often the expiry job runs (consumption also expires lazily, so this bounds staleness of reads). */
export const CREDIT_EXPIRY_INTERVAL_MS = 15 * 60_000;

/**
 * Writes 'expire' ledger entries for every grant past its expiry, one org per transaction (each
 * locks only that org's account, like a consumption). Each run first schedules the next slot;
 * the dedupe key names the slot, so many workers run each slot once.
 */
export const expireCreditsTask = defineTask({
  name: 'credits.expire',
  payload: z.object({ slot: z.number().int().nonnegative() }),
  maxAttempts: 3,
  async run({ slot }, ctx: JobContext<Deps>) {
    await scheduleCreditExpiry(ctx.deps, slot + 1);
    const n = await expireDueCredits(ctx.deps);
    if (n) ctx.deps.logger.info({ slot, orgs: n }, 'credits expired');
  },
});

export async function expireDueCredits(deps: Deps): Promise<number> {
  const now = deps.clock.now();
  let done = 0;
  for (;;) {
    const orgs = await withSystemTx(deps.database, (tx) => orgsWithExpiredCredits(tx, now, 200));
    if (!orgs.length) return done;
    const changes: (BalanceChange | null)[] = [];
    for (const orgId of orgs)
      changes.push(await withOrgTx(deps.database, orgId, (tx) => expireOrgCredits(tx, orgId, now)));
    done += orgs.length;
    await notifyBalanceChanges(deps, changes);
  }
}

/** Plants the next run (at the next slot boundary, not before `minSlot`). Called at worker start. */
export async function scheduleCreditExpiry(deps: Pick<Deps, 'database' | 'clock'>, minSlot = 0) {
  const slot = Math.max(minSlot, Math.floor(deps.clock.nowMs() / CREDIT_EXPIRY_INTERVAL_MS) + 1);
  return enqueueJobInSystemTx(
    deps.database,
    expireCreditsTask.job(
      { slot },
      { runAt: new Date(slot * CREDIT_EXPIRY_INTERVAL_MS), dedupeKey: `credits.expire:${slot}` },
    ),
  );
}
