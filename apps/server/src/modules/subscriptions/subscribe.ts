import { eq } from 'drizzle-orm';
import Stripe from 'stripe';
import { organizations } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError, notFound } from '../../http/errors.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { ensureCustomer } from '../customers/ensureCustomer.ts';
import { defaultPaymentMethodOf } from '../payment-methods/listPaymentMethods.ts';
import { applySubscription } from './applySubscription.ts';
import { type PlanChoice, resolvePlanPrice } from './catalogLookup.ts';
import { getSubscription } from './getSubscription.ts';
import { invoicePaymentOutcome } from './paymentOutcome.ts';
import { countEndedSubscriptions, findLiveSubscription } from './repo.ts';

export interface SubscribeInput extends PlanChoice {
  promotionCode?: string | undefined;
}

/**
 * Subscribes an org to a paid plan with the card on file (or by invoice for institutions).
 *
 * An org never gets two live subscriptions: every concurrent attempt derives the same Stripe
 * idempotency key from the org and its subscription "generation" (how many of its subscriptions
 * have ended), so Stripe creates one subscription and replays it to every racer. A declined
 * first payment leaves nothing live: the incomplete subscription is cancelled and a 402 returned.
 * A card that needs 3-D Secure returns the client secret to finish the payment in the browser.
 */
export async function subscribe(deps: Deps, audit: AuditContext, orgId: string, input: SubscribeInput) {
  const customer = await ensureCustomer(deps, orgId);
  const pre = await withOrgTx(deps.database, orgId, async (tx) => {
    const [org] = await tx.select().from(organizations).where(eq(organizations.id, orgId));
    if (!org) throw notFound('org');
    if (await findLiveSubscription(tx, orgId))
      throw new DomainError('conflict', 'the org already has a subscription: change its plan instead', {
        field: 'plan',
      });
    const { plan, price } = await resolvePlanPrice(tx, input);
    return { org, plan, price, generation: await countEndedSubscriptions(tx, orgId) };
  });
  const { org, plan, price, generation } = pre;
  const invoiceBilling = org.collectionMethod === 'send_invoice';
  const trialDays = plan.trialDays > 0 && !org.trialUsedAt ? plan.trialDays : 0;

  let promotionCodeId: string | undefined;
  try {
    if (!invoiceBilling && trialDays === 0) {
      const cus = await withStripeRetry(() => deps.stripe.customers.retrieve(customer));
      if (!defaultPaymentMethodOf(cus))
        throw new DomainError('payment_required', 'add a card before subscribing to a paid plan', {
          field: 'payment_method',
        });
    }
    if (input.promotionCode) {
      const codes = await withStripeRetry(() =>
        deps.stripe.promotionCodes.list({ code: input.promotionCode, active: true, limit: 1 }),
      );
      promotionCodeId = codes.data[0]?.id;
      if (!promotionCodeId)
        throw new DomainError('validation_failed', 'promotion_code: unknown or expired code', {
          issues: [{ field: 'promotion_code', message: 'unknown or expired code' }],
        });
    }
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw stripeErrorToDomain(err, 'checking the payment method');
  }

  const params: Stripe.SubscriptionCreateParams = {
    customer,
    items: [{ price: price.id, quantity: input.seats }],
    metadata: { tollgate_org_id: orgId, tollgate_plan: plan.key },
    ...(invoiceBilling
      ? { collection_method: 'send_invoice', days_until_due: org.daysUntilDue ?? 30 }
      : { payment_behavior: 'allow_incomplete' }),
    ...(trialDays
      ? {
          trial_period_days: trialDays,
          trial_settings: { end_behavior: { missing_payment_method: 'cancel' } },
        }
      : {}),
    ...(promotionCodeId ? { discounts: [{ promotion_code: promotionCodeId }] } : {}),
  };
  let sub: Stripe.Subscription;
  try {
    sub = await withStripeRetry(
      () =>
        deps.stripe.subscriptions.create(params, {
          idempotencyKey: idempotencyKey(orgId, 'subscription.create', generation),
        }),
      { retryConflicts: true, attempts: 5 },
    );
  } catch (err) {
    if (err instanceof Stripe.errors.StripeIdempotencyError)
      throw new DomainError(
        'conflict',
        'another subscribe request with different choices is being processed',
        { field: 'plan' },
      );
    throw stripeErrorToDomain(err, 'creating the subscription');
  }
  const observedAt = deps.clock.nowMs();

  let action: { client_secret: string | null; hosted_invoice_url: string | null } | null = null;
  if (sub.status === 'incomplete') {
    const { invoice, paymentIntent } = await invoicePaymentOutcome(
      deps,
      sub.latest_invoice as string | null,
    ).catch(() => ({
      invoice: null,
      paymentIntent: null,
    }));
    if (paymentIntent?.status === 'requires_action') {
      action = {
        client_secret: paymentIntent.client_secret,
        hosted_invoice_url: invoice?.hosted_invoice_url ?? null,
      };
    } else {
      // Declined: nothing may stay live. Cancelling is idempotent per subscription id.
      const canceled = await withStripeRetry(() =>
        deps.stripe.subscriptions.cancel(
          sub.id,
          {},
          { idempotencyKey: idempotencyKey(orgId, 'subscription.abandon', sub.id) },
        ),
      ).catch(() => null);
      await withOrgTx(deps.database, orgId, (tx) =>
        applySubscription(tx, orgId, canceled ?? sub, deps.clock.nowMs()),
      );
      const e = paymentIntent?.last_payment_error;
      throw new DomainError('card_declined', e?.message ?? 'the card was declined', {
        decline_code: e?.decline_code ?? e?.code ?? null,
        payment_intent: paymentIntent?.id ?? null,
      });
    }
  }

  await withOrgTx(deps.database, orgId, async (tx) => {
    await applySubscription(tx, orgId, sub, observedAt);
    if (sub.status === 'trialing')
      await tx
        .update(organizations)
        .set({ trialUsedAt: deps.clock.now() })
        .where(eq(organizations.id, orgId));
    await recordAudit(tx, audit, {
      orgId,
      action: 'subscription.created',
      targetType: 'subscription',
      targetId: sub.id,
      after: { plan: plan.key, interval: input.interval, seats: input.seats, status: sub.status },
    });
  });
  return {
    subscription: await getSubscription(deps, orgId),
    requires_action: action !== null,
    client_secret: action?.client_secret ?? null,
    hosted_invoice_url: action?.hosted_invoice_url ?? null,
  };
}
