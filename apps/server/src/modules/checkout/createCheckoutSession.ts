import Stripe from 'stripe';
import type { Deps } from '../../deps.ts';
import { DomainError } from '../../http/errors.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { type AuditContext, recordAuditNow } from '../audit/recordAuditNow.ts';
import { ensureCustomer } from '../customers/ensureCustomer.ts';
import { assertAllowedRedirects } from './allowedRedirect.ts';
import { type PackItem, type PlanItem, packLineItems, subscriptionLineItems } from './checkoutLineItems.ts';
import { expireOlderSubscriptionCheckouts } from './expireOlderCheckouts.ts';

interface Common {
  successUrl: string;
  cancelUrl: string;
  allowPromotionCodes: boolean;
}
export type CheckoutInput =
  | (Common & { mode: 'subscription' } & PlanItem)
  | (Common & { mode: 'payment'; items: PackItem[] });

/**
 * Starts a Stripe Checkout Session for the org: a paid plan (subscription mode) or credit packs
 * (payment mode). The browser is sent to `url`; Stripe sends it back to `success_url`.
 *
 * `cause` is the caller's Idempotency-Key (else our request id). The Stripe key is derived from
 * it, the org, the mode and the chosen items, so a double-click with the same header gets the
 * same session back, and the same header with other items is refused (409) instead of silently
 * returning a session for something else.
 */
export async function createCheckoutSession(
  deps: Deps,
  audit: AuditContext,
  orgId: string,
  input: CheckoutInput,
  cause: string,
) {
  assertAllowedRedirects(deps.env, { success_url: input.successUrl, cancel_url: input.cancelUrl });
  const customer = await ensureCustomer(deps, orgId);
  const common = {
    customer,
    success_url: input.successUrl,
    cancel_url: input.cancelUrl,
    client_reference_id: orgId,
    ...(input.allowPromotionCodes ? { allow_promotion_codes: true } : {}),
  };

  let params: Stripe.Checkout.SessionCreateParams;
  let itemsKey: string;
  let summary: Record<string, unknown>;
  if (input.mode === 'subscription') {
    const { plan, lineItems, trialDays } = await subscriptionLineItems(deps, orgId, input);
    const metadata = {
      tollgate_org_id: orgId,
      tollgate_plan: plan.key,
      tollgate_interval: input.interval,
      tollgate_seats: String(input.seats),
    };
    params = {
      ...common,
      mode: 'subscription',
      line_items: lineItems,
      metadata,
      subscription_data: {
        metadata: { tollgate_org_id: orgId, tollgate_plan: plan.key },
        ...(trialDays ? { trial_period_days: trialDays } : {}),
      },
    };
    itemsKey = `${plan.key}:${input.interval}:${input.seats}`;
    summary = { plan: plan.key, interval: input.interval, seats: input.seats, trial_days: trialDays };
  } else {
    const packs = await packLineItems(deps, input.items);
    const metadata = {
      tollgate_org_id: orgId,
      tollgate_purpose: 'credit_packs',
      tollgate_packs: packs.packs,
      tollgate_credits: String(packs.credits),
    };
    params = {
      ...common,
      mode: 'payment',
      line_items: packs.lineItems,
      metadata,
      // The PaymentIntent carries the same facts: its webhooks reach the credits ledger too.
      payment_intent_data: { description: packs.description, metadata },
    };
    itemsKey = packs.packs;
    summary = { packs: packs.packs, credits: packs.credits, amount: packs.amount };
  }

  let session: Stripe.Response<Stripe.Checkout.Session>;
  try {
    session = await withStripeRetry(
      () =>
        deps.stripe.checkout.sessions.create(params, {
          idempotencyKey: idempotencyKey(orgId, 'checkout.create', input.mode, itemsKey, cause),
        }),
      // A double-click's twin may still be in flight at Stripe (409): wait for its result.
      { retryConflicts: true, attempts: 5 },
    );
  } catch (err) {
    if (err instanceof Stripe.errors.StripeIdempotencyError)
      throw new DomainError(
        'idempotency_conflict',
        'this Idempotency-Key was already used for a checkout with other details',
        { field: 'Idempotency-Key' },
      );
    throw stripeErrorToDomain(err, 'starting checkout');
  }

  const replayed = session.lastResponse?.headers?.['idempotent-replayed'] === 'true';
  if (!replayed) {
    if (input.mode === 'subscription') await expireOlderSubscriptionCheckouts(deps, orgId, customer, session);
    await recordAuditNow(deps, audit, {
      orgId,
      action: 'checkout_session.created',
      targetType: 'checkout_session',
      targetId: session.id,
      after: { mode: input.mode, ...summary, amount_total: session.amount_total },
    });
  }
  return { session_id: session.id, url: session.url! };
}
