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
import { releaseSchedule } from './releaseSchedule.ts';
import { findLiveSubscription } from './repo.ts';

async function liveRow(deps: Pick<Deps, 'database'>, orgId: string) {
  const row = await withOrgTx(deps.database, orgId, (tx) => findLiveSubscription(tx, orgId));
  if (!row) throw new DomainError('conflict', 'the org has no subscription', { field: 'subscription' });
  return row;
}

async function setCancelAtPeriodEnd(deps: Deps, audit: AuditContext, orgId: string, cancel: boolean) {
  const row = await liveRow(deps, orgId);
  if (row.cancelAtPeriodEnd === cancel && !row.scheduleId) return getSubscription(deps, orgId);
  try {
    // A pending downgrade is moot once the subscription ends; a resume keeps the plan as it is.
    if (row.scheduleId && cancel) await releaseSchedule(deps, orgId, row.scheduleId);
    const updated: Stripe.Subscription = await withStripeRetry(() =>
      deps.stripe.subscriptions.update(
        row.id,
        { cancel_at_period_end: cancel },
        {
          idempotencyKey: idempotencyKey(
            orgId,
            cancel ? 'subscription.cancel' : 'subscription.resume',
            row.id,
            audit.requestId ?? '',
          ),
        },
      ),
    );
    await withOrgTx(deps.database, orgId, async (tx) => {
      await applySubscription(tx, orgId, updated, deps.clock.nowMs());
      await recordAudit(tx, audit, {
        orgId,
        action: cancel ? 'subscription.cancel_scheduled' : 'subscription.resumed',
        targetType: 'subscription',
        targetId: row.id,
        before: { cancel_at_period_end: row.cancelAtPeriodEnd },
        after: { cancel_at_period_end: updated.cancel_at_period_end },
      });
    });
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw stripeErrorToDomain(err, cancel ? 'cancelling the subscription' : 'resuming the subscription');
  }
  return getSubscription(deps, orgId);
}

/** Cancel at the end of the paid period: access continues until then. */
export const cancelSubscription = (deps: Deps, audit: AuditContext, orgId: string) =>
  setCancelAtPeriodEnd(deps, audit, orgId, true);

/** Undo a cancellation before the period ends. */
export const resumeSubscription = (deps: Deps, audit: AuditContext, orgId: string) =>
  setCancelAtPeriodEnd(deps, audit, orgId, false);

/** Undo a scheduled downgrade: the subscription stays on its current plan. */
export async function cancelPendingChange(deps: Deps, audit: AuditContext, orgId: string) {
  const row = await liveRow(deps, orgId);
  if (!row.scheduleId)
    throw new DomainError('conflict', 'there is no scheduled change to undo', { field: 'pending_change' });
  try {
    await releaseSchedule(deps, orgId, row.scheduleId);
    const fresh = await withStripeRetry(() => deps.stripe.subscriptions.retrieve(row.id));
    await withOrgTx(deps.database, orgId, async (tx) => {
      await applySubscription(tx, orgId, fresh, deps.clock.nowMs(), {
        pendingPlanKey: null,
        pendingPriceId: null,
        pendingChangeAt: null,
      });
      await recordAudit(tx, audit, {
        orgId,
        action: 'subscription.pending_change_cancelled',
        targetType: 'subscription',
        targetId: row.id,
        before: { pending_plan: row.pendingPlanKey },
      });
    });
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw stripeErrorToDomain(err, 'undoing the scheduled change');
  }
  return getSubscription(deps, orgId);
}
