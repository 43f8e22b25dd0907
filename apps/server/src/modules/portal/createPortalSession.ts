import Stripe from 'stripe';
import type { Deps } from '../../deps.ts';
import { DomainError } from '../../http/errors.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { type AuditContext, recordAuditNow } from '../audit/recordAuditNow.ts';
import { loadCatalog } from '../catalog/loadCatalog.ts';
import { assertAllowedRedirects } from '../checkout/allowedRedirect.ts';
import { ensureCustomer } from '../customers/ensureCustomer.ts';
import { getSubscription } from '../subscriptions/getSubscription.ts';
import { ensurePortalConfiguration } from './portalConfiguration.ts';

export type PortalFlow = 'payment_method_update' | 'subscription_cancel' | 'subscription_update';

/**
 * A Stripe Customer Portal session for the org, with the catalog's configuration. `flow` deep-links
 * to one task (update the card, cancel, switch plan) and returns to `returnUrl` when it is done.
 * `cause` is the caller's Idempotency-Key (else our request id): a retry gets the same session.
 */
export async function createPortalSession(
  deps: Deps,
  audit: AuditContext,
  orgId: string,
  input: { returnUrl: string; flow?: PortalFlow | undefined },
  cause: string,
) {
  assertAllowedRedirects(deps.env, { return_url: input.returnUrl });
  const catalog = await loadCatalog(deps.env.CATALOG_FILE);
  const flowData = input.flow
    ? await flowFor(deps, orgId, input.flow, catalog.portal, input.returnUrl)
    : undefined;
  const customer = await ensureCustomer(deps, orgId);
  const configuration = await ensurePortalConfiguration(deps, catalog);
  let session: Stripe.Response<Stripe.BillingPortal.Session>;
  try {
    session = await withStripeRetry(
      () =>
        deps.stripe.billingPortal.sessions.create(
          {
            customer,
            configuration,
            return_url: input.returnUrl,
            ...(flowData ? { flow_data: flowData } : {}),
          },
          { idempotencyKey: idempotencyKey(orgId, 'portal_session.create', input.flow ?? 'home', cause) },
        ),
      { retryConflicts: true, attempts: 5 },
    );
  } catch (err) {
    if (err instanceof Stripe.errors.StripeIdempotencyError)
      throw new DomainError(
        'idempotency_conflict',
        'this Idempotency-Key was already used for another portal session',
        {
          field: 'Idempotency-Key',
        },
      );
    throw stripeErrorToDomain(err, 'opening the customer portal');
  }
  if (session.lastResponse?.headers?.['idempotent-replayed'] !== 'true')
    await recordAuditNow(deps, audit, {
      orgId,
      action: 'portal_session.created',
      targetType: 'portal_session',
      targetId: session.id,
      after: { flow: input.flow ?? null, configuration },
    });
  return { url: session.url };
}

/** The deep link's parameters; a flow the org or the catalog cannot do is a 409, not a dead link. */
async function flowFor(
  deps: Deps,
  orgId: string,
  flow: PortalFlow,
  portal: { allowPlanSwitch: boolean; cancellation: string },
  returnUrl: string,
): Promise<Stripe.BillingPortal.SessionCreateParams.FlowData> {
  const after_completion = { type: 'redirect' as const, redirect: { return_url: returnUrl } };
  if (flow === 'payment_method_update') return { type: flow, after_completion };
  const sub = await getSubscription(deps, orgId);
  if (!sub.id || sub.status === 'none')
    throw new DomainError('conflict', 'the org has no subscription to manage', { field: 'flow' });
  if (flow === 'subscription_cancel') {
    if (portal.cancellation === 'disabled')
      throw new DomainError('conflict', 'cancelling in the portal is disabled by the catalog', {
        field: 'flow',
      });
    if (sub.cancel_at_period_end)
      throw new DomainError('conflict', 'the subscription is already set to cancel', { field: 'flow' });
    return { type: flow, subscription_cancel: { subscription: sub.id }, after_completion };
  }
  if (!portal.allowPlanSwitch)
    throw new DomainError('conflict', 'switching plans in the portal is disabled by the catalog', {
      field: 'flow',
    });
  return { type: flow, subscription_update: { subscription: sub.id }, after_completion };
}
