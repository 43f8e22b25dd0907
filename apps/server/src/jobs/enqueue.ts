import { eq } from 'drizzle-orm';
import type { Database, Tx } from '../db/client.ts';
import { jobs } from '../db/schema/jobs.ts';
import { asSystemRole, withSystemTx } from '../db/tx.ts';

export interface EnqueueJobInput {
  /** A task name registered on the workers (see defineTask). */
  task: string;
  /** JSON; validated against the task's schema when the job runs. */
  payload: unknown;
  /** Earliest time to run; omitted = as soon as a worker polls. */
  runAt?: Date | undefined;
  /**
   * Makes enqueueing idempotent: a second enqueue with the same key (whatever the first job's
   * status, done included) inserts nothing and returns the first job's id. Keys are global across
   * tasks, so derive them from the cause, e.g. `invoices.send_receipt:${invoiceId}`.
   */
  dedupeKey?: string | undefined;
  /** Attempts before the job is dead; defaults to the task's maxAttempts, else 10. */
  maxAttempts?: number | undefined;
}

/**
 * Enqueues a job inside the caller's transaction, so the job exists exactly when the row that
 * caused it commits. Works in any transaction: withSystemTx, withOrgTx (role tollgate_app, which
 * RLS refuses on `jobs`) or a plain one — it switches to the system role for its own statements
 * and switches back, so the rest of a tenant transaction stays tenant-scoped.
 * Returns the job id (the existing job's id when `dedupeKey` was already used).
 */
export async function enqueueJob(tx: Tx, input: EnqueueJobInput): Promise<number> {
  checkInput(input);
  return asSystemRole(tx, async () => {
    const inserted = await tx
      .insert(jobs)
      .values({
        task: input.task,
        payload: input.payload,
        dedupeKey: input.dedupeKey ?? null,
        ...(input.runAt ? { runAt: input.runAt } : {}),
        ...(input.maxAttempts !== undefined ? { maxAttempts: input.maxAttempts } : {}),
      })
      .onConflictDoNothing({ target: jobs.dedupeKey })
      .returning({ id: jobs.id });
    if (inserted[0]) return inserted[0].id;
    // Only a dedupe_key conflict skips the insert. A concurrent enqueue of the same key made our
    // insert wait for its commit, so under READ COMMITTED this statement sees that row.
    const [existing] = await tx
      .select({ id: jobs.id })
      .from(jobs)
      .where(eq(jobs.dedupeKey, input.dedupeKey as string));
    if (!existing) throw new Error(`job with dedupe key ${input.dedupeKey} conflicted but is not visible`);
    return existing.id;
  });
}

/** For callers without a transaction of their own: enqueues in a new system transaction. */
export function enqueueJobInSystemTx(database: Database, input: EnqueueJobInput): Promise<number> {
  return withSystemTx(database, (tx) => enqueueJob(tx, input));
}

function checkInput(input: EnqueueJobInput): void {
  if (!input.task) throw new TypeError('enqueueJob: task is required');
  if (input.payload === undefined) throw new TypeError(`enqueueJob(${input.task}): payload is required`);
  if (input.maxAttempts !== undefined && !(Number.isInteger(input.maxAttempts) && input.maxAttempts >= 1))
    throw new RangeError(`enqueueJob(${input.task}): maxAttempts must be an integer >= 1`);
  if (input.runAt && Number.isNaN(input.runAt.getTime()))
    throw new RangeError(`enqueueJob(${input.task}): runAt is an invalid date`);
}
