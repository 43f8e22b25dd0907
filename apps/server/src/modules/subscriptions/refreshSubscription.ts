import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { applySubscription } from './applySubscription.ts';
import type { SubscriptionRow } from './repo.ts';

/**
 * Re-reads a subscription from Stripe and applies it. Used when the projection is visibly
 * behind (its period or a scheduled change is in the past, or a payment was pending), so a
 * read never shows a period that has already ended. Failures leave the projection as it was.
 */
export async function refreshSubscription(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock' | 'logger'>,
  orgId: string,
  id: string,
) {
  try {
    const sub = await withStripeRetry(() => deps.stripe.subscriptions.retrieve(id), { attempts: 2 });
    await withOrgTx(deps.database, orgId, (tx) => applySubscription(tx, orgId, sub, deps.clock.nowMs()));
    return true;
  } catch (err) {
    deps.logger.warn({ err, orgId, subscription: id }, 'subscription refresh failed; serving the projection');
    return false;
  }
}

export function isStale(row: SubscriptionRow, nowMs: number): boolean {
  if (['canceled', 'incomplete_expired'].includes(row.status)) return false;
  if (row.status === 'incomplete') return true;
  const due = [row.currentPeriodEnd, row.pendingChangeAt, row.cancelAt, row.trialEnd].some(
    (d) => d && d.getTime() <= nowMs,
  );
  return due;
}
