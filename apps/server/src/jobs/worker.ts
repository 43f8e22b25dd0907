import { hostname } from 'node:os';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/client.ts';
import { randomToken } from '../ids.ts';
import { type JobLogger, silentJobLogger } from './logger.ts';
import { claimJobs, type JobRow } from './repo.ts';
import { type RunJobDeps, runClaimedJob } from './runJob.ts';
import type { NoDeps, Task } from './task.ts';

interface WorkerSettings {
  database: Database;
  clock: Clock;
  /** Identifies this worker in jobs.locked_by; unique per process (default host:pid:random). */
  workerId?: string;
  /** Jobs run at the same time by this worker (default 4). */
  concurrency?: number;
  /** How often an idle worker looks for due jobs (default 1000). */
  pollIntervalMs?: number;
  /**
   * How long a claim lasts without a heartbeat (default 60 000): the delay before a crashed
   * worker's jobs are taken over. Running tasks extend it every lockTimeoutMs / 3.
   */
  lockTimeoutMs?: number;
  /** How long stop() waits for running jobs (default 10 000). */
  shutdownTimeoutMs?: number;
  logger?: JobLogger;
}

/** `deps` is required exactly when some task needs services. */
type DepsOption<Deps> = NoDeps extends Deps ? { deps?: Deps } : { deps: Deps };

export type WorkerOptions<Deps> = WorkerSettings & {
  tasks: readonly Task<unknown, Deps>[];
} & DepsOption<Deps>;

export interface Worker {
  readonly id: string;
  /** Starts polling in the background. */
  start(): void;
  /** Stops claiming, then waits for running jobs up to the timeout; see shutdownTimeoutMs. */
  stop(options?: { timeoutMs?: number }): Promise<void>;
  /** Claims and runs every job due now (and what those enqueue due now); returns how many ran. */
  runOnce(): Promise<number>;
  /** Resolves once nothing is running and a poll begun after this call found nothing due. */
  idle(): Promise<void>;
}

interface InFlight {
  jobId: number;
  controller: AbortController;
}

export function createWorker<Deps = NoDeps>(options: WorkerOptions<Deps>): Worker {
  const { database, clock } = options;
  const id = options.workerId ?? `${hostname()}:${process.pid}:${randomToken(6)}`;
  const concurrency = positiveInt('concurrency', options.concurrency ?? 4);
  const pollIntervalMs = positiveInt('pollIntervalMs', options.pollIntervalMs ?? 1_000);
  const lockTimeoutMs = positiveInt('lockTimeoutMs', options.lockTimeoutMs ?? 60_000);
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
  const logger = options.logger ?? silentJobLogger;
  const tasks = new Map<string, Task<unknown, Deps>>();
  for (const task of options.tasks) {
    if (tasks.has(task.name)) throw new Error(`task ${task.name} is registered twice`);
    tasks.set(task.name, task);
  }
  const taskNames = [...tasks.keys()];
  const deps = (options as { deps?: Deps }).deps ?? ({} as Deps);
  const runDeps: RunJobDeps<Deps> = { database, clock, logger, workerId: id, lockTimeoutMs, tasks, deps };

  const inFlight = new Map<Promise<void>, InFlight>();
  let loop: Promise<void> | undefined;
  let stopping = false;
  let pollsStarted = 0;
  let idleWaiters: { after: number; resolve: () => void }[] = [];
  // Wakes the poll loop early (a slot freed, idle() was called, stop()); remembered if it is not asleep.
  let interruptSleep: (() => void) | undefined;
  let wakePending = false;

  function wake() {
    if (interruptSleep) interruptSleep();
    else wakePending = true;
  }

  function sleep(ms: number): Promise<void> {
    if (wakePending) {
      wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        interruptSleep = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      interruptSleep = done;
    });
  }

  function launch(row: JobRow): Promise<void> {
    const controller = new AbortController();
    const running: Promise<void> = runClaimedJob(runDeps, row, controller)
      .catch((err: unknown) => logger.error({ err, jobId: row.id }, 'job runner failed'))
      .finally(() => {
        inFlight.delete(running);
        wake();
      });
    inFlight.set(running, { jobId: row.id, controller });
    return running;
  }

  async function claimAndLaunch(limit: number): Promise<{ claimed: number; started: Promise<void>[] }> {
    const rows = await claimJobs(database, {
      workerId: id,
      now: clock.now(),
      lockTimeoutMs,
      limit,
      taskNames,
    });
    const started: Promise<void>[] = [];
    for (const row of rows) {
      if (row.status === 'running') started.push(launch(row));
      else
        logger.error({ jobId: row.id, task: row.task, error: row.lastError }, 'job dead: no attempts left');
    }
    return { claimed: rows.length, started };
  }

  async function drain(): Promise<void> {
    while (inFlight.size > 0) await Promise.allSettled(inFlight.keys());
  }

  function settleIdle(poll: number) {
    const ready = idleWaiters.filter((w) => w.after < poll);
    idleWaiters = idleWaiters.filter((w) => w.after >= poll);
    for (const w of ready) w.resolve();
  }

  async function pollLoop(): Promise<void> {
    while (!stopping) {
      const free = concurrency - inFlight.size;
      if (free > 0) {
        const poll = ++pollsStarted;
        let claimed = 0;
        let failed = false;
        try {
          claimed = (await claimAndLaunch(free)).claimed;
        } catch (err) {
          failed = true;
          logger.error({ err, workerId: id }, 'claiming jobs failed; retrying after the poll interval');
        }
        if (!failed && claimed === 0 && inFlight.size === 0) settleIdle(poll);
        // A full batch means more may be due: claim again as soon as a slot is free.
        if (claimed === free) continue;
      }
      await sleep(pollIntervalMs);
    }
  }

  return {
    id,
    start() {
      if (loop) return;
      stopping = false;
      loop = pollLoop();
      logger.info({ workerId: id, concurrency, tasks: taskNames }, 'job worker started');
    },

    async stop({ timeoutMs = shutdownTimeoutMs } = {}) {
      stopping = true;
      wake();
      await loop;
      loop = undefined;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        drain().then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        const unfinished = [...inFlight.values()];
        // The tasks cannot be killed; aborting their signal also stops their heartbeats, so the
        // locks expire and another worker takes the jobs over.
        for (const job of unfinished) job.controller.abort(new Error(`worker ${id} stopped`));
        logger.warn(
          { workerId: id, jobIds: unfinished.map((j) => j.jobId) },
          'stop timed out; unfinished jobs rerun after their locks expire',
        );
      }
      settleIdle(Number.POSITIVE_INFINITY);
      logger.info({ workerId: id }, 'job worker stopped');
    },

    async runOnce() {
      let ran = 0;
      while (!stopping) {
        if (inFlight.size >= concurrency) {
          await Promise.race(inFlight.keys());
          continue;
        }
        const { claimed, started } = await claimAndLaunch(concurrency - inFlight.size);
        if (claimed === 0) break;
        ran += started.length;
        await Promise.all(started);
      }
      return ran;
    },

    idle() {
      if (!loop) return drain();
      return new Promise<void>((resolve) => {
        idleWaiters.push({ after: pollsStarted, resolve });
        wake();
      });
    },
  };
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`createWorker: ${name} must be an integer >= 1`);
  return value;
}
