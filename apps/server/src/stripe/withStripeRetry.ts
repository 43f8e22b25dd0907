import { classifyStripeError } from './classifyStripeError.ts';

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Also retry 409 "a request with this idempotency key is in progress": a concurrent twin will
   * finish, and the retry then receives its result.
   */
  retryConflicts?: boolean;
}

/**
 * Retries transient Stripe failures (connection, rate limit, lock timeout, 5xx) with
 * exponential backoff. Safe only because every mutating call carries a deterministic
 * idempotency key: a retry of a call Stripe already performed replays its first result.
 */
export async function withStripeRetry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const base = opts.baseDelayMs ?? 100;
  const max = opts.maxDelayMs ?? 2_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const conflict = opts.retryConflicts && (err as { statusCode?: number }).statusCode === 409;
      if (attempt >= attempts || (classifyStripeError(err) !== 'retry' && !conflict)) throw err;
      await sleep(Math.min(max, base * 2 ** (attempt - 1)));
    }
  }
}
