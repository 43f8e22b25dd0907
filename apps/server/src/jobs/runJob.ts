import type { Clock } from '../clock.ts';
import type { Database } from '../db/client.ts';
import { backoffDelayMs, DEFAULT_BACKOFF } from './backoff.ts';
import { PermanentJobError, RetryJobError } from './errors.ts';
import type { JobLogger } from './logger.ts';
import { extendJobLock, finishJob, type JobClaim, type JobOutcome, type JobRow } from './repo.ts';
import type { JobContext, Task } from './task.ts';

export interface RunJobDeps<Deps> {
  database: Database;
  clock: Clock;
  logger: JobLogger;
  workerId: string;
  lockTimeoutMs: number;
  tasks: ReadonlyMap<string, Task<unknown, Deps>>;
  deps: Deps;
}

const MAX_ERROR_LENGTH = 2_000;

/**
 * Runs one claimed job outside any transaction and records the outcome. Never rejects: every
 * failure becomes a retry, a dead job, or (when the database itself fails) a log line — the
 * job then stays running until its lock expires and another claim retries it.
 * `controller` is the worker's handle to abort the task (graceful stop timed out).
 */
export async function runClaimedJob<Deps>(w: RunJobDeps<Deps>, row: JobRow, controller: AbortController) {
  const claim: JobClaim = { id: row.id, workerId: w.workerId, attempt: row.attempts };
  const fields = { jobId: row.id, task: row.task, attempt: row.attempts, workerId: w.workerId };
  const startedMs = w.clock.nowMs();
  const task = w.tasks.get(row.task);
  const heartbeat = startHeartbeat(w, claim, controller);
  const ctx: JobContext<Deps> = {
    job: {
      id: row.id,
      task: row.task,
      attempt: row.attempts,
      maxAttempts: row.maxAttempts,
      runAt: row.runAt,
      createdAt: row.createdAt,
      dedupeKey: row.dedupeKey,
    },
    database: w.database,
    clock: w.clock,
    logger: w.logger,
    signal: controller.signal,
    deps: w.deps,
  };
  let outcome: JobOutcome;
  try {
    if (!task) throw new PermanentJobError(`no task named ${row.task} is registered on worker ${w.workerId}`);
    await task.execute(row.payload, ctx);
    outcome = { status: 'done', now: w.clock.now() };
  } catch (err) {
    outcome = failureOutcome(err, row, task, w.clock.now());
  } finally {
    heartbeat.stop();
  }
  const durationMs = w.clock.nowMs() - startedMs;
  try {
    const kept = await finishJob(w.database, claim, outcome);
    if (!kept)
      w.logger.warn({ ...fields, durationMs }, 'job lock was lost before it finished; outcome discarded');
    else if (outcome.status === 'done') w.logger.info({ ...fields, durationMs }, 'job done');
    else if (outcome.status === 'queued')
      w.logger.warn(
        { ...fields, durationMs, error: outcome.error, runAt: outcome.runAt },
        'job failed; will retry',
      );
    else w.logger.error({ ...fields, durationMs, error: outcome.error }, 'job failed; dead');
  } catch (err) {
    w.logger.error({ ...fields, err }, 'could not record job outcome; it reruns after its lock expires');
  }
}

function failureOutcome<Deps>(
  err: unknown,
  row: JobRow,
  task: Task<unknown, Deps> | undefined,
  now: Date,
): JobOutcome {
  const error = describe(err);
  if (err instanceof PermanentJobError || row.attempts >= row.maxAttempts)
    return { status: 'dead', now, error };
  const delayMs =
    err instanceof RetryJobError
      ? Math.max(0, err.retryAfterMs)
      : backoffDelayMs(row.attempts, task?.backoff ?? DEFAULT_BACKOFF);
  return { status: 'queued', now, error, runAt: new Date(now.getTime() + delayMs) };
}

function describe(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : `thrown: ${String(err)}`;
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}

/**
 * Keeps the lock while a long task runs, so lockTimeoutMs bounds how long a crashed worker's jobs
 * wait, not how long a task may take. Losing the lock aborts the task's signal.
 */
function startHeartbeat<Deps>(w: RunJobDeps<Deps>, claim: JobClaim, controller: AbortController) {
  let beating = false;
  const beat = async () => {
    if (beating) return;
    beating = true;
    try {
      const lockedUntil = new Date(w.clock.nowMs() + w.lockTimeoutMs);
      if (!(await extendJobLock(w.database, claim, lockedUntil)) && !controller.signal.aborted)
        controller.abort(new Error(`job ${claim.id} lock was taken over`));
    } catch (err) {
      w.logger.warn({ jobId: claim.id, err }, 'could not extend job lock');
    } finally {
      beating = false;
    }
  };
  const timer = setInterval(() => void beat(), Math.max(10, Math.floor(w.lockTimeoutMs / 3)));
  timer.unref();
  const stop = () => clearInterval(timer);
  controller.signal.addEventListener('abort', stop, { once: true });
  return { stop };
}
