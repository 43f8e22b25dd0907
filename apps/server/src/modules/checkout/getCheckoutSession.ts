import Stripe from 'stripe';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError, notFound } from '../../http/errors.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { type AuditContext, recordAudit, systemAudit } from '../audit/recordAudit.ts';
import { applySubscription } from '../subscriptions/applySubscription.ts';
import { planItem } from '../subscriptions/planItem.ts';
import { presentCheckoutSession } from './presentCheckoutSession.ts';
import { findOrgBilling, markTrialUsed } from './repo.ts';

const idOf = (v: string | { id: string } | null) => (typeof v === 'string' ? v : (v?.id ?? null));

/**
 * A checkout session of this org, read from Stripe. When a subscription checkout has completed,
 * the subscription is projected right away (and the trial marked used), so the page the
 * customer returns to already shows the new plan; the webhooks converge to the same state.
 * Another org's session is a 404, exactly like one that does not exist.
 */
export async function getCheckoutSession(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock'>,
  audit: AuditContext,
  orgId: string,
  sessionId: string,
) {
  const org = await withOrgTx(deps.database, orgId, (tx) => findOrgBilling(tx, orgId));
  if (!org?.stripeCustomerId) throw notFound('checkout session');
  let session: Stripe.Checkout.Session;
  try {
    session = await withStripeRetry(() => deps.stripe.checkout.sessions.retrieve(sessionId));
  } catch (err) {
    if (err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 404)
      throw notFound('checkout session');
    throw stripeErrorToDomain(err, 'reading the checkout session');
  }
  const owned =
    session.metadata?.tollgate_org_id === orgId &&
    idOf(session.customer as string | { id: string } | null) === org.stripeCustomerId;
  if (!owned) throw notFound('checkout session');

  const subscriptionId = idOf(session.subscription as string | { id: string } | null);
  if (session.status === 'complete' && session.mode === 'subscription' && subscriptionId)
    await projectSubscription(deps, audit, orgId, subscriptionId, session.id);
  return presentCheckoutSession(session);
}

async function projectSubscription(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock'>,
  audit: AuditContext,
  orgId: string,
  subscriptionId: string,
  sessionId: string,
) {
  let sub: Stripe.Subscription;
  try {
    sub = await withStripeRetry(() => deps.stripe.subscriptions.retrieve(subscriptionId));
  } catch (err) {
    throw stripeErrorToDomain(err, 'reading the new subscription');
  }
  if (sub.metadata?.tollgate_org_id !== orgId)
    throw new DomainError('internal', 'the checkout subscription belongs to another org');
  const observedAt = deps.clock.nowMs();
  await withOrgTx(deps.database, orgId, async (tx) => {
    const before = await findOrgBilling(tx, orgId);
    await applySubscription(tx, orgId, sub, observedAt);
    if (sub.trial_end) await markTrialUsed(tx, orgId, deps.clock.now());
    // First sight of this subscription here (a webhook may have projected it already: no entry
    // then). Stripe created it when the customer paid, so the actor is the system, not the reader.
    if (before?.subscriptionId !== sub.id)
      await recordAudit(tx, systemAudit(audit.requestId), {
        orgId,
        action: 'subscription.created',
        targetType: 'subscription',
        targetId: sub.id,
        after: {
          via: 'checkout',
          checkout_session: sessionId,
          plan: sub.metadata?.tollgate_plan ?? null,
          seats: planItem(sub)?.quantity ?? 1,
          status: sub.status,
        },
      });
  });
}
