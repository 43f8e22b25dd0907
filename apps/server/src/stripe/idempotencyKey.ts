import { createHash } from 'node:crypto';

/**
 * Deterministic idempotency key for a mutating Stripe call, derived from what caused it:
 * the org, the action and our own row id (plus any distinguishing parts). Never time or
 * randomness — a retry of the same cause must reuse the key so Stripe replays the first result.
 * Stripe accepts up to 255 characters; longer keys are hashed.
 */
export function idempotencyKey(orgId: string, action: string, ...parts: (string | number)[]): string {
  const key = ['tg', orgId, action, ...parts.map(String)].join(':');
  return key.length <= 255 ? key : `tg:${createHash('sha256').update(key).digest('hex')}`;
}
