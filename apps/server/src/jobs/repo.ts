import { and, asc, eq, inArray, lt, lte, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { jobs } from '../db/schema/jobs.ts';
import { withSystemTx } from '../db/tx.ts';

export type JobRow = typeof jobs.$inferSelect;

/** One claim of one job: attempts grows with every claim, so (id, worker, attempt) names it exactly. */
export interface JobClaim {
  id: number;
  workerId: string;
  attempt: number;
}

export interface ClaimOptions {
  workerId: string;
  now: Date;
  lockTimeoutMs: number;
  limit: number;
  /** Only tasks this worker can run, so a worker of an older release leaves newer tasks alone. */
  taskNames: string[];
}

/**
 * Claims up to `limit` due jobs in one short transaction and commits, so no transaction stays open
 * while tasks run (on PGlite's single connection the task's own queries would queue behind it).
 *
 * Due means queued with run_at <= now, or running with an expired lock: its worker crashed or
 * hung, and the job is taken over (at-least-once). A taken-over job that has no attempts left is
 * marked dead here instead of being run again, so a job that kills its worker cannot loop.
 *
 * `= ANY(ARRAY(subquery))` makes the locking subquery run exactly once; under `IN (subquery)` the
 * planner may rescan it and lock more than `limit` rows. SKIP LOCKED lets workers claim disjoint sets.
 */
export async function claimJobs(database: Database, o: ClaimOptions): Promise<JobRow[]> {
  if (o.limit <= 0 || o.taskNames.length === 0) return [];
  const now = o.now.toISOString();
  const lockedUntil = new Date(o.now.getTime() + o.lockTimeoutMs).toISOString();
  return withSystemTx(database, async (tx) => {
    const due = tx
      .select({ id: jobs.id })
      .from(jobs)
      .where(
        and(
          inArray(jobs.task, o.taskNames),
          or(
            and(eq(jobs.status, 'queued'), lte(jobs.runAt, o.now)),
            and(eq(jobs.status, 'running'), lt(jobs.lockedUntil, o.now)),
          ),
        ),
      )
      .orderBy(asc(jobs.runAt), asc(jobs.id))
      .limit(o.limit)
      .for('update', { skipLocked: true });
    // Column references on the right-hand side read the row as it was before this update.
    const exhausted = sql`(${jobs.status} = 'running' AND ${jobs.attempts} >= ${jobs.maxAttempts})`;
    return tx
      .update(jobs)
      .set({
        status: sql`CASE WHEN ${exhausted} THEN 'dead' ELSE 'running' END`,
        attempts: sql`CASE WHEN ${exhausted} THEN ${jobs.attempts} ELSE ${jobs.attempts} + 1 END`,
        lockedBy: sql`CASE WHEN ${exhausted} THEN ${jobs.lockedBy} ELSE ${o.workerId}::text END`,
        lockedUntil: sql`CASE WHEN ${exhausted} THEN NULL ELSE ${lockedUntil}::timestamptz END`,
        finishedAt: sql`CASE WHEN ${exhausted} THEN ${now}::timestamptz ELSE NULL END`,
        lastError: sql`CASE WHEN ${jobs.status} = 'running'
          THEN 'attempt ' || ${jobs.attempts} || ' by ' || coalesce(${jobs.lockedBy}, '?') || ' did not finish before its lock expired'
          ELSE ${jobs.lastError} END`,
      })
      .where(sql`${jobs.id} = ANY(ARRAY(${due}))`)
      .returning();
  });
}

export type JobOutcome =
  | { status: 'done'; now: Date }
  | { status: 'queued'; now: Date; runAt: Date; error: string }
  | { status: 'dead'; now: Date; error: string };

/**
 * Records how an attempt ended — only while the claim still holds the job. After a lock expiry
 * another worker may have taken it over; the slow original then changes nothing (returns false).
 * locked_by is kept as "worker of the latest attempt" for operators.
 */
export async function finishJob(database: Database, claim: JobClaim, outcome: JobOutcome): Promise<boolean> {
  const values =
    outcome.status === 'done'
      ? { status: 'done' as const, finishedAt: outcome.now, lockedUntil: null }
      : outcome.status === 'queued'
        ? { status: 'queued' as const, runAt: outcome.runAt, lastError: outcome.error, lockedUntil: null }
        : { status: 'dead' as const, finishedAt: outcome.now, lastError: outcome.error, lockedUntil: null };
  return withSystemTx(database, async (tx) => {
    const rows = await tx.update(jobs).set(values).where(held(claim)).returning({ id: jobs.id });
    return rows.length === 1;
  });
}

/** Heartbeat: pushes the lock forward while the task runs; false when the claim was lost. */
export async function extendJobLock(
  database: Database,
  claim: JobClaim,
  lockedUntil: Date,
): Promise<boolean> {
  return withSystemTx(database, async (tx) => {
    const rows = await tx.update(jobs).set({ lockedUntil }).where(held(claim)).returning({ id: jobs.id });
    return rows.length === 1;
  });
}

function held(claim: JobClaim) {
  return and(
    eq(jobs.id, claim.id),
    eq(jobs.status, 'running'),
    eq(jobs.lockedBy, claim.workerId),
    eq(jobs.attempts, claim.attempt),
  );
}
