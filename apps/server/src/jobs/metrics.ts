import { and, count, eq, lte, min } from 'drizzle-orm';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/client.ts';
import { jobs } from '../db/schema/jobs.ts';
import { withSystemTx } from '../db/tx.ts';

export type JobStatus = (typeof jobs.status.enumValues)[number];

export interface JobStats {
  /** Jobs per status; every status present, 0 when none. */
  counts: Record<JobStatus, number>;
  /**
   * How long the oldest due queued job has waited past its run_at (queue lag), null when nothing
   * is due. Jobs scheduled for later (delayed, backing off) do not count as waiting.
   */
  oldestQueuedAgeMs: number | null;
}

export async function jobStats(database: Database, clock: Clock): Promise<JobStats> {
  const now = clock.now();
  return withSystemTx(database, async (tx) => {
    const byStatus = await tx.select({ status: jobs.status, n: count() }).from(jobs).groupBy(jobs.status);
    const [oldest] = await tx
      .select({ runAt: min(jobs.runAt) })
      .from(jobs)
      .where(and(eq(jobs.status, 'queued'), lte(jobs.runAt, now)));
    const counts: Record<JobStatus, number> = { queued: 0, running: 0, done: 0, dead: 0 };
    for (const row of byStatus) counts[row.status] = Number(row.n);
    const runAt = oldest?.runAt ?? null;
    return { counts, oldestQueuedAgeMs: runAt ? Math.max(0, now.getTime() - runAt.getTime()) : null };
  });
}
