import type Stripe from 'stripe';
import type { Deps } from '../../deps.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';

/**
 * Keeps at most one open subscription checkout per org: two open sessions (two tabs, a changed
 * mind) could otherwise both be paid and leave the org with two subscriptions. Every session
 * listed after `newest` (Stripe lists newest first, in one order every caller sees, ties within
 * a second included) is expired, so two concurrent creations never expire each other — the
 * later one survives. Best effort: a session that completes or expires meanwhile is skipped.
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
    const at = open.data.findIndex((s) => s.id === newest.id);
    const older = at >= 0 ? open.data.slice(at + 1) : open.data.filter((s) => s.created < newest.created);
    const stale = older.filter((s) => s.mode === 'subscription');
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
