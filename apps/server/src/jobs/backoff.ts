/** Delays between attempts of a failing job. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 5_000, maxMs: 60 * 60_000 };

/**
 * Delay after failed attempt number `attempt` (1-based): base, 2·base, 4·base, … capped at max.
 * Deliberately without jitter so run_at is predictable in tests, demos and the admin view.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const doublings = Math.min(Math.max(attempt - 1, 0), 40);
  return Math.min(policy.baseMs * 2 ** doublings, policy.maxMs);
}
