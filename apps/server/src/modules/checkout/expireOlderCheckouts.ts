import type Stripe from 'stripe';
import type { Deps } from '../../deps.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';

const olderThan = (a: Stripe.Checkout.Session, b: Stripe.Checkout.Session) =>
  a.created < b.created || (a.created === b.created && a.id < b.id);

/**
 * Keeps at most one open subscription checkout per org: two open sessions (two tabs, a changed
 * mind) could otherwise both be paid and leave the org with two subscriptions. Every session
 * older than `newest` by (created, id) is expired; the order is total, so two concurrent
 * creations never expire each other — the newer one survives. Best effort: a session that
 * completes or expires meanwhile is simply skipped.
 */
export async function expireOlderSubscriptionCheckouts(
  deps: Pick<Deps, 'stripe' | 'logger'>,
  orgId: string,
  customer: string,
  newest: Stripe.Checkout.Session,
) {
  try {
    const open = await withStripeRetry(() =>
      deps.stripe.checkout.sessions.list({ customer, status: 'open', limit: 100 }),
    );
    const stale = open.data.filter((s) => s.mode === 'subscription' && olderThan(s, newest));
    for (const s of stale) {
      await withStripeRetry(() =>
        deps.stripe.checkout.sessions.expire(
          s.id,
          {},
          { idempotencyKey: idempotencyKey(orgId, 'checkout.expire', s.id) },
        ),
      ).catch((err) => deps.logger.warn({ err, orgId, session: s.id }, 'could not expire an older checkout'));
    }
  } catch (err) {
    deps.logger.warn({ err, orgId }, 'could not list open checkouts; older ones stay open');
  }
}
