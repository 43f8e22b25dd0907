import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { defineTask, enqueueJobInSystemTx, type JobContext } from '../../jobs/index.ts';
import { notifyAccessRestricted } from '../emails/notifyAccessRestricted.ts';
import { runDriftCheck } from './runDriftCheck.ts';

/**
 * The scheduled drift check. Each run first enqueues the next one, at the next boundary of the
 * RECONCILE_INTERVAL_MINUTES grid; the dedupe key names that slot, so however many workers
 * start or retry, each slot runs once. A worker that was down for hours resumes at the next
 * slot instead of catching up on the missed ones.
 */
export const reconcileDriftTask = defineTask({
  name: 'reconcile.drift',
  payload: z.object({ slot: z.number().int().nonnegative() }),
  maxAttempts: 3,
  async run({ slot }, ctx: JobContext<Deps>) {
    await scheduleDriftCheck(ctx.deps, slot + 1);
    // Grace periods end silently (access is computed on read): this recurring check announces them.
    await notifyAccessRestricted(ctx.deps);
    const result = await runDriftCheck(ctx.deps, ctx.signal);
    ctx.deps.logger.info(
      { slot, orgs: result.orgs, healed: result.healed, failed: result.failed.length },
      'drift check done',
    );
  },
});

/**
 * Enqueues the next drift check (at the first slot boundary after now, and not before `minSlot`).
 * Called once at worker start (main.ts) and by every run. Returns the job id, or null when the
 * check is off (RECONCILE_INTERVAL_MINUTES=0).
 */
export async function scheduleDriftCheck(
  deps: Pick<Deps, 'database' | 'clock' | 'env'>,
  minSlot = 0,
): Promise<number | null> {
  const minutes = deps.env.RECONCILE_INTERVAL_MINUTES;
  if (minutes <= 0) return null;
  const intervalMs = minutes * 60_000;
  const slot = Math.max(minSlot, Math.floor(deps.clock.nowMs() / intervalMs) + 1);
  return enqueueJobInSystemTx(
    deps.database,
    reconcileDriftTask.job(
      { slot },
      { runAt: new Date(slot * intervalMs), dedupeKey: `reconcile.drift:${minutes}m:${slot}` },
    ),
  );
}
