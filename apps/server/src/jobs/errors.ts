/**
 * How a task tells the worker what a failure means. Anything else a task throws is treated as
 * transient: retried with backoff until the job's attempts run out.
 */

/** The job can never succeed (bad input, a deleted row, a refused Stripe request): dead at once. */
export class PermanentJobError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

/** The payload does not match the task's schema: at enqueue time a bug at the call site, at run time dead. */
export class InvalidJobPayloadError extends PermanentJobError {
  constructor(
    readonly task: string,
    readonly issues: string,
  ) {
    super(`invalid payload for task ${task}: ${issues}`);
    this.name = 'InvalidJobPayloadError';
  }
}

/**
 * Transient failure with a known wait (e.g. Stripe's rate limit): retried after `retryAfterMs`
 * instead of the task's backoff. Still counts as an attempt.
 */
export class RetryJobError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RetryJobError';
  }
}
