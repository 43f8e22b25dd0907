import Stripe from 'stripe';
import { DomainError } from '../http/errors.ts';

export type StripeErrorKind =
  /** Transient: connection trouble, rate limit, lock timeout, 5xx. Safe to retry with the same key. */
  | 'retry'
  /** The card was declined or needs something from the customer: 402 with the reason. */
  | 'card'
  /** We sent something Stripe rejects: a bug on our side. 500 and a log line. */
  | 'invalid'
  /** Stripe may or may not have done it (timeout after sending): wait for the webhook. */
  | 'indeterminate'
  /** Our key is wrong or lacks permission: configuration problem. */
  | 'auth';

export function classifyStripeError(err: unknown): StripeErrorKind {
  if (!(err instanceof Stripe.errors.StripeError)) return 'indeterminate';
  if (err instanceof Stripe.errors.StripeCardError) return 'card';
  if (err instanceof Stripe.errors.StripeRateLimitError) return 'retry';
  if (err instanceof Stripe.errors.StripeConnectionError) return 'retry';
  if (err instanceof Stripe.errors.StripeAPIError) return 'retry';
  if (err instanceof Stripe.errors.StripeAuthenticationError) return 'auth';
  if (err instanceof Stripe.errors.StripePermissionError) return 'auth';
  if (err instanceof Stripe.errors.StripeIdempotencyError) return 'invalid';
  if (err instanceof Stripe.errors.StripeInvalidRequestError) {
    if (err.code === 'lock_timeout') return 'retry';
    return 'invalid';
  }
  if ((err.statusCode ?? 0) >= 500 || err.statusCode === 429) return 'retry';
  return 'invalid';
}

/** Maps a Stripe failure onto the one error model; `resource` names what we were doing. */
export function stripeErrorToDomain(err: unknown, resource: string): DomainError {
  const kind = classifyStripeError(err);
  const e = err as Stripe.errors.StripeError;
  switch (kind) {
    case 'card':
      return new DomainError('card_declined', e.message || 'the card was declined', {
        decline_code: e.decline_code ?? e.code ?? null,
        stripe_code: e.code ?? null,
        payment_intent: (e.payment_intent as { id?: string } | undefined)?.id ?? null,
      });
    case 'retry':
    case 'indeterminate':
      return new DomainError(
        'stripe_unavailable',
        `Stripe did not answer while ${resource}; nothing was changed here. Retry in a few seconds.`,
        { retry_after_seconds: 5 },
        { 'retry-after': '5' },
      );
    case 'auth':
      return new DomainError('internal', 'billing is misconfigured (Stripe rejected our credentials)');
    default:
      return new DomainError('internal', `unexpected Stripe error while ${resource}`);
  }
}
