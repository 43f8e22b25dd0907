import type Stripe from 'stripe';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError } from '../../http/errors.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { applySubscription } from './applySubscription.ts';
import { getSubscription } from './getSubscription.ts';
import { invoicePaymentOutcome } from './paymentOutcome.ts';
import { planItem } from './planItem.ts';
import { findLiveSubscription } from './repo.ts';

/**
 * Operator action: end the subscription now. With `refund`, the unused share of the current
 * period (by seconds, of what the latest paid invoice collected) is refunded to the card.
 */
export async function cancelImmediately(deps: Deps, audit: AuditContext, orgId: string, refund: boolean) {
  const row = await withOrgTx(deps.database, orgId, (tx) => findLiveSubscription(tx, orgId));
  if (!row) throw new DomainError('conflict', 'the org has no subscription', { field: 'subscription' });
  let refunded: { id: string; amount: number } | null = null;
  try {
    const sub = await withStripeRetry(() => deps.stripe.subscriptions.retrieve(row.id));
    const item = planItem(sub)!;
    const canceled: Stripe.Subscription = await withStripeRetry(() =>
      deps.stripe.subscriptions.cancel(
        row.id,
        {},
        { idempotencyKey: idempotencyKey(orgId, 'subscription.cancel_now', row.id) },
      ),
    );
    if (refund && sub.status === 'active') {
      const { invoice, paymentIntent } = await invoicePaymentOutcome(
        deps,
        sub.latest_invoice as string | null,
      );
      const endedAt = canceled.canceled_at ?? canceled.ended_at ?? Math.floor(deps.clock.nowMs() / 1000);
      const total = item.current_period_end - item.current_period_start;
      const unused = Math.max(0, item.current_period_end - endedAt);
      const amount = invoice && total > 0 ? Math.floor((invoice.amount_paid * unused) / total) : 0;
      if (paymentIntent && paymentIntent.status === 'succeeded' && amount > 0) {
        const r = await withStripeRetry(() =>
          deps.stripe.refunds.create(
            {
              payment_intent: paymentIntent.id,
              amount,
              reason: 'requested_by_customer',
              metadata: { tollgate_org_id: orgId },
            },
            { idempotencyKey: idempotencyKey(orgId, 'refund.prorated', row.id) },
          ),
        );
        refunded = { id: r.id, amount: r.amount };
      }
    }
    await withOrgTx(deps.database, orgId, async (tx) => {
      await applySubscription(tx, orgId, canceled, deps.clock.nowMs());
      await recordAudit(tx, audit, {
        orgId,
        action: 'subscription.canceled_now',
        targetType: 'subscription',
        targetId: row.id,
        before: { status: row.status },
        after: { status: canceled.status, refund: refunded },
      });
    });
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw stripeErrorToDomain(err, 'cancelling the subscription');
  }
  return { subscription: await getSubscription(deps, orgId), refund: refunded };
}
