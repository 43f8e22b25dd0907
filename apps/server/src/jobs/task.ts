import { z } from 'zod';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/client.ts';
import { type BackoffPolicy, DEFAULT_BACKOFF } from './backoff.ts';
import type { EnqueueJobInput } from './enqueue.ts';
import { InvalidJobPayloadError } from './errors.ts';
import type { JobLogger } from './logger.ts';

/** A task that needs nothing beyond the job context. */
export type NoDeps = Record<never, never>;

export interface JobInfo {
  id: number;
  task: string;
  /** 1 on the first run; counts reclaims after a crashed worker too. */
  attempt: number;
  maxAttempts: number;
  runAt: Date;
  createdAt: Date;
  dedupeKey: string | null;
}

/**
 * What a task's `run` receives besides its payload. `deps` are the services the worker was given
 * (Stripe client, mailer, …), typed by the task, so tasks can be module-level constants that
 * use-cases import to enqueue them.
 */
export interface JobContext<Deps = NoDeps> {
  job: JobInfo;
  database: Database;
  clock: Clock;
  logger: JobLogger;
  /**
   * Aborted when this worker no longer owns the job (its lock expired and another worker may be
   * running it) or when a graceful stop timed out. Pass it to fetch/Stripe calls where possible.
   */
  signal: AbortSignal;
  deps: Deps;
}

export interface JobOptions {
  runAt?: Date;
  dedupeKey?: string;
  maxAttempts?: number;
}

export interface TaskDefinition<Schema extends z.ZodType, Deps> {
  /** Stored in jobs.task; never rename a task that may still have queued jobs. */
  name: string;
  payload: Schema;
  /**
   * Runs at least once per job, possibly more (a crash after the work but before the job is
   * marked done re-runs it), so it must be idempotent: Stripe idempotency keys, unique indexes.
   */
  run: (payload: z.output<Schema>, ctx: JobContext<Deps>) => Promise<void>;
  maxAttempts?: number;
  backoff?: Partial<BackoffPolicy>;
}

export interface Task<Input = unknown, Deps = NoDeps> {
  readonly name: string;
  readonly maxAttempts: number | undefined;
  readonly backoff: BackoffPolicy;
  /** Validates the stored payload, then runs; an invalid payload throws InvalidJobPayloadError. */
  readonly execute: (payload: unknown, ctx: JobContext<Deps>) => Promise<void>;
  /**
   * A typed input for enqueueJob. The payload is validated now, in the JSON form the worker will
   * read back, so a bad call fails at its call site rather than as a dead job later.
   */
  job(payload: Input, options?: JobOptions): EnqueueJobInput;
}

const TASK_NAME = /^[a-z][a-z0-9_.:-]*$/;

export function defineTask<Schema extends z.ZodType, Deps = NoDeps>(
  def: TaskDefinition<Schema, Deps>,
): Task<z.input<Schema>, Deps> {
  if (!TASK_NAME.test(def.name))
    throw new TypeError(`task name ${JSON.stringify(def.name)} must match ${TASK_NAME}`);
  if (def.maxAttempts !== undefined && !(Number.isInteger(def.maxAttempts) && def.maxAttempts >= 1))
    throw new RangeError(`task ${def.name}: maxAttempts must be an integer >= 1`);
  const backoff = { ...DEFAULT_BACKOFF, ...def.backoff };
  return {
    name: def.name,
    maxAttempts: def.maxAttempts,
    backoff,
    async execute(payload, ctx) {
      const parsed = await def.payload.safeParseAsync(payload);
      if (!parsed.success) throw new InvalidJobPayloadError(def.name, z.prettifyError(parsed.error));
      await def.run(parsed.data, ctx);
    },
    job(payload, options = {}) {
      if (payload === undefined) throw new TypeError(`task ${def.name}: payload is required`);
      const stored: unknown = JSON.parse(JSON.stringify(payload));
      const parsed = def.payload.safeParse(stored);
      if (!parsed.success) throw new InvalidJobPayloadError(def.name, z.prettifyError(parsed.error));
      return {
        task: def.name,
        payload: stored,
        runAt: options.runAt,
        dedupeKey: options.dedupeKey,
        maxAttempts: options.maxAttempts ?? def.maxAttempts,
      };
    },
  };
}
