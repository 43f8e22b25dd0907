import Stripe from 'stripe';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError } from '../../http/errors.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { applySubscription } from './applySubscription.ts';
import type { PlanChoice } from './catalogLookup.ts';
import { getSubscription } from './getSubscription.ts';
import { loadChangeContext } from './liveSubscription.ts';
import { invoicePaymentOutcome } from './paymentOutcome.ts';
import { meteredItems } from './planItem.ts';
import { classifyChange } from './previewChange.ts';
import { releaseSchedule } from './releaseSchedule.ts';

export interface ChangeInput extends PlanChoice {
  /** From the preview: prorate at exactly the previewed second, so the charge equals the preview. */
  prorationDate?: number | undefined;
}

/**
 * Changes plan, interval or seats. Upgrades apply now and invoice the proration at once; with
 * `pending_if_incomplete` a failed payment leaves the subscription exactly as it was (402).
 * Downgrades are scheduled for the period end with a subscription schedule and can be undone.
 */
export async function changeSubscription(deps: Deps, audit: AuditContext, orgId: string, input: ChangeInput) {
  const ctx = await loadChangeContext(deps, orgId, input);
  const kind = classifyChange(ctx, input);
  const { sub, item, next, row } = ctx;
  const intervalChange = ctx.current?.interval !== next.price.interval;
  if (input.prorationDate !== undefined) {
    const { current_period_start: start, current_period_end: end } = item;
    if (input.prorationDate < start || input.prorationDate > end)
      throw new DomainError('validation_failed', 'proration_date: must fall within the current period', {
        issues: [{ field: 'proration_date', message: 'must fall within the current period' }],
      });
  }
  const key = (action: string) =>
    idempotencyKey(
      orgId,
      action,
      sub.id,
      next.price.id,
      input.seats,
      input.prorationDate ?? audit.requestId ?? '',
    );

  try {
    if (kind === 'upgrade') {
      if (sub.schedule) await releaseSchedule(deps, orgId, sub.schedule as string);
      let updated: Stripe.Subscription;
      try {
        updated = await withStripeRetry(() =>
          deps.stripe.subscriptions.update(
            sub.id,
            {
              items: [{ id: item.id, price: next.price.id, quantity: input.seats }],
              proration_behavior: 'always_invoice',
              payment_behavior: 'pending_if_incomplete',
              ...(input.prorationDate !== undefined ? { proration_date: input.prorationDate } : {}),
              ...(intervalChange ? { billing_cycle_anchor: { type: 'now' as const } } : {}),
              metadata: { tollgate_plan: next.plan.key },
            },
            { idempotencyKey: key('subscription.upgrade') },
          ),
        );
      } catch (err) {
        if (err instanceof Stripe.errors.StripeCardError)
          throw stripeErrorToDomain(err, 'charging the upgrade');
        throw err;
      }
      let action: { client_secret: string | null } | null = null;
      if (updated.pending_update) {
        // The proration invoice needs the customer (3-D Secure) or was declined: nothing changed yet.
        const { paymentIntent } = await invoicePaymentOutcome(deps, updated.latest_invoice as string | null);
        if (paymentIntent?.status !== 'requires_action') {
          const e = paymentIntent?.last_payment_error;
          throw new DomainError('card_declined', e?.message ?? 'the card was declined', {
            decline_code: e?.decline_code ?? e?.code ?? null,
          });
        }
        action = { client_secret: paymentIntent.client_secret };
      }
      await withOrgTx(deps.database, orgId, async (tx) => {
        await applySubscription(tx, orgId, updated, deps.clock.nowMs());
        await recordAudit(tx, audit, {
          orgId,
          action: 'subscription.upgraded',
          targetType: 'subscription',
          targetId: sub.id,
          before: { plan: row.planKey, price: item.price.id, seats: item.quantity },
          after: {
            plan: next.plan.key,
            price: next.price.id,
            seats: input.seats,
            pending_payment: action !== null,
          },
        });
      });
      return {
        change: kind,
        subscription: await getSubscription(deps, orgId),
        requires_action: !!action,
        client_secret: action?.client_secret ?? null,
      };
    }

    // Downgrade: phase 1 keeps today's price to the period end, phase 2 the new one.
    const scheduleId =
      (sub.schedule as string | null) ??
      (
        await withStripeRetry(() =>
          deps.stripe.subscriptionSchedules.create(
            { from_subscription: sub.id },
            { idempotencyKey: key('schedule.create') },
          ),
        )
      ).id;
    const schedule = await withStripeRetry(() => deps.stripe.subscriptionSchedules.retrieve(scheduleId));
    // Phases list every item: metered add-ons must be carried into both or the schedule drops them.
    const addons = meteredItems(sub).map((i) => ({ price: i.price.id }));
    const currentPhase = schedule.phases[0];
    await withStripeRetry(() =>
      deps.stripe.subscriptionSchedules.update(
        scheduleId,
        {
          end_behavior: 'release',
          phases: [
            {
              items: [{ price: item.price.id, quantity: item.quantity ?? 1 }, ...addons],
              start_date: currentPhase?.start_date ?? item.current_period_start,
              end_date: item.current_period_end,
              proration_behavior: 'none',
            },
            {
              items: [{ price: next.price.id, quantity: input.seats }, ...addons],
              proration_behavior: 'none',
              metadata: { tollgate_plan: next.plan.key },
            },
          ],
        },
        { idempotencyKey: key('schedule.downgrade') },
      ),
    );
    const fresh = await withStripeRetry(() => deps.stripe.subscriptions.retrieve(sub.id));
    const effectiveAt = new Date(item.current_period_end * 1000);
    await withOrgTx(deps.database, orgId, async (tx) => {
      await applySubscription(tx, orgId, fresh, deps.clock.nowMs(), {
        pendingPlanKey: next.plan.key,
        pendingPriceId: next.price.id,
        pendingChangeAt: effectiveAt,
      });
      await recordAudit(tx, audit, {
        orgId,
        action: 'subscription.downgrade_scheduled',
        targetType: 'subscription',
        targetId: sub.id,
        before: { plan: row.planKey, price: item.price.id, seats: item.quantity },
        after: {
          plan: next.plan.key,
          price: next.price.id,
          seats: input.seats,
          effective_at: effectiveAt.toISOString(),
        },
      });
    });
    return {
      change: kind,
      subscription: await getSubscription(deps, orgId),
      requires_action: false,
      client_secret: null,
    };
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw stripeErrorToDomain(err, 'changing the subscription');
  }
}
