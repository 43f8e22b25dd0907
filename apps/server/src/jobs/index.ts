export { type BackoffPolicy, backoffDelayMs, DEFAULT_BACKOFF } from './backoff.ts';
export { type EnqueueJobInput, enqueueJob, enqueueJobInSystemTx } from './enqueue.ts';
export { InvalidJobPayloadError, PermanentJobError, RetryJobError } from './errors.ts';
export { type JobLogger, silentJobLogger } from './logger.ts';
export { type JobStats, type JobStatus, jobStats } from './metrics.ts';
export {
  defineTask,
  type JobContext,
  type JobInfo,
  type JobOptions,
  type NoDeps,
  type Task,
  type TaskDefinition,
} from './task.ts';
export { createWorker, type Worker, type WorkerOptions } from './worker.ts';
