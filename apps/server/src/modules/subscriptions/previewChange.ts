import type Stripe from 'stripe';
import type { Deps } from '../../deps.ts';
import { DomainError } from '../../http/errors.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { annualValue, type PlanChoice } from './catalogLookup.ts';
import { loadChangeContext } from './liveSubscription.ts';

export type ChangeKind = 'upgrade' | 'downgrade';

/**
 * Upgrades (more value per year, or monthly → yearly) apply now with the proration invoiced at
 * once; downgrades wait for the period end. Same price and seats is no change at all.
 */
export function classifyChange(
  ctx: Awaited<ReturnType<typeof loadChangeContext>>,
  choice: PlanChoice,
): ChangeKind {
  const { current, next, item } = ctx;
  if (item.price.id === next.price.id && item.quantity === choice.seats)
    throw new DomainError('validation_failed', 'plan: this is the current plan, interval and seat count', {
      issues: [{ field: 'plan', message: 'this is the current plan, interval and seat count' }],
    });
  if (current?.interval === 'month' && next.price.interval === 'year') return 'upgrade';
  if (current?.interval === 'year' && next.price.interval === 'month') return 'downgrade';
  const before = current ? annualValue(current, item.quantity ?? 1) : 0;
  return annualValue(next.price, choice.seats) > before ? 'upgrade' : 'downgrade';
}

const isProration = (l: Stripe.InvoiceLineItem) =>
  Boolean(
    (l.parent as { subscription_item_details?: { proration?: boolean } } | null)?.subscription_item_details
      ?.proration ??
      (l.parent as { invoice_item_details?: { proration?: boolean } } | null)?.invoice_item_details
        ?.proration,
  );

/**
 * What a change would cost, without changing anything: the amount due now, the credit for the
 * unused time, and the next invoice's total and date. `proration_date` is returned so the change
 * itself can be prorated at exactly the previewed second (then the charge equals the preview).
 */
export async function previewChange(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock'>,
  orgId: string,
  choice: PlanChoice,
) {
  const ctx = await loadChangeContext(deps, orgId, choice);
  const kind = classifyChange(ctx, choice);
  const { sub, item, next } = ctx;
  const customer = typeof sub.customer === 'string' ? sub.customer : sub.customer.id;
  const intervalChange = ctx.current?.interval !== next.price.interval;
  try {
    const newItems = [{ id: item.id, price: next.price.id, quantity: choice.seats }];
    let amountDueNow = 0;
    let credit = 0;
    let charge = 0;
    let prorationDate: number | null = null;
    if (kind === 'upgrade') {
      const now = await withStripeRetry(() =>
        deps.stripe.invoices.createPreview({
          customer,
          subscription: sub.id,
          subscription_details: {
            items: newItems,
            proration_behavior: 'always_invoice',
            ...(intervalChange ? { billing_cycle_anchor: { type: 'now' as const } } : {}),
          },
        }),
      );
      prorationDate = now.lines.data.find(isProration)?.period.start ?? now.period_start ?? null;
      for (const l of now.lines.data) {
        if (l.amount < 0) credit += -l.amount;
        else charge += l.amount;
      }
      amountDueNow = now.amount_due;
    }
    const renewal = await withStripeRetry(() =>
      deps.stripe.invoices.createPreview({
        customer,
        subscription: sub.id,
        subscription_details: {
          items: newItems,
          proration_behavior: 'none',
          ...(kind === 'upgrade' && intervalChange ? { billing_cycle_anchor: { type: 'now' as const } } : {}),
        },
      }),
    );
    const periodEnd = item.current_period_end;
    const nextDate =
      kind === 'upgrade' && intervalChange ? (renewal.lines.data[0]?.period.end ?? periodEnd) : periodEnd;
    return {
      change: kind,
      plan: choice.planKey,
      interval: choice.interval,
      seats: choice.seats,
      currency: renewal.currency,
      amount_due_now: amountDueNow,
      credit_for_unused_time: credit,
      charge_for_new_plan: charge,
      proration_date: prorationDate,
      effective_at: new Date(
        (kind === 'upgrade' ? (prorationDate ?? deps.clock.nowMs() / 1000) : periodEnd) * 1000,
      ).toISOString(),
      next_invoice: { total: renewal.total, date: new Date(nextDate * 1000).toISOString() },
    };
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw stripeErrorToDomain(err, 'previewing the change');
  }
}
