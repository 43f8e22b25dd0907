/**
 * POST /v1/invoices/create_preview: the invoice as it would be, computed with the same
 * functions the engine bills with, and nothing stored or emitted.
 *
 * - `subscription` alone: the next renewal invoice (pending items, metered usage of the
 *   current period, the next period's charges; schedule phases applied).
 * - `subscription` + `subscription_details`: the result of that update — with
 *   `create_prorations` (default) the next renewal including the proration lines; with
 *   `always_invoice`, a reset anchor or an interval change, the invoice the update would
 *   create and charge now. `parent.subscription_details.subscription_proration_date` says
 *   which proration_date was used (pass it to the update to be charged exactly this).
 * - `customer` + `subscription_details.items`: the first invoice of a new subscription.
 * - `customer` alone: the customer's pending invoice items.
 * - `schedule`: the next invoice of the schedule's subscription.
 */
import type { Emulator } from '../../core/context.ts';
import { emitEvent, nowFor } from '../../core/events.ts';
import { randomAlphanumeric } from '../../core/ids.ts';
import { defineJob } from '../../core/scheduler.ts';
import type { Row } from '../../core/store.ts';
import { invalidRequest, parameterMissing, StripeApiError } from '../../http/errors.ts';
import { type InferShape, p } from '../../http/params.ts';
import { amountFor } from '../catalog/pricing.ts';
import { type PriceRow, Prices } from '../catalog/tables.ts';
import { Customers } from '../customers/tables.ts';
import { discountActive, discountParams, resolveDiscountSpecs } from './discounts.ts';
import { pendingInvoiceItems, productName } from './invoice-item-ops.ts';
import { composeInvoice, type LineDraft } from './invoice-ops.ts';
import { itemsForPhase, phaseAt } from './schedule-ops.ts';
import {
  currentPeriod,
  itemParams,
  periodLines,
  prorationItems,
  resolveItemPrice,
  subscriptionRecurrence,
  trialLines,
  usageLines,
  validateItemSet,
} from './subscription-model.ts';
import { planItems } from './subscription-ops.ts';
import { type InvoiceRow, type SubscriptionRow, SubscriptionSchedules, Subscriptions } from './tables.ts';
import { addIntervals, nextBoundary, prorate, recurrenceOf } from './time-money.ts';

export const createPreviewParams = {
  customer: p.string(),
  customer_account: p.string(),
  subscription: p.string(),
  schedule: p.string(),
  subscription_details: p.object({
    items: p.array(itemParams, { max: 20 }),
    proration_behavior: p.enum(['always_invoice', 'create_prorations', 'none']),
    proration_date: p.timestamp(),
    billing_cycle_anchor: p.union(
      p.enum(['now', 'unchanged']),
      p.object({ type: p.required(p.enum(['now', 'timestamp', 'unchanged'])), timestamp: p.timestamp() }),
    ),
    cancel_at_period_end: p.bool(),
    cancel_at: p.any(),
    cancel_now: p.bool(),
    trial_end: p.timestamp({ allowNow: true }),
    default_tax_rates: p.any(),
    metadata: p.metadata(),
    billing_mode: p.any(),
    billing_schedules: p.any(),
    pause: p.any(),
    resume_at: p.any(),
    start_date: p.timestamp(),
  }),
  schedule_details: p.any(),
  invoice_items: p.array(
    p.object({
      amount: p.int(),
      currency: p.currency(),
      description: p.string(),
      discountable: p.bool(),
      price: p.string(),
      quantity: p.int({ min: 0 }),
      unit_amount: p.int(),
      metadata: p.metadata(),
      period: p.object({ start: p.required(p.timestamp()), end: p.required(p.timestamp()) }),
      discounts: p.any(),
      invoiceitem: p.string(),
      price_data: p.any(),
      quantity_decimal: p.any(),
      tax_behavior: p.any(),
      tax_code: p.any(),
      tax_rates: p.any(),
      unit_amount_decimal: p.any(),
    }),
  ),
  discounts: discountParams,
  automatic_tax: p.any(),
  currency: p.currency(),
  customer_details: p.any(),
  issuer: p.any(),
  on_behalf_of: p.any(),
  preview_mode: p.enum(['next', 'recurring']),
};

type PreviewParams = InferShape<typeof createPreviewParams>;

function nothingUpcoming(customer: string): StripeApiError {
  return new StripeApiError({
    status: 404,
    type: 'invalid_request_error',
    code: 'invoice_upcoming_none',
    message: `No upcoming invoices for customer: ${customer}`,
  });
}

function anchorNow(
  value: NonNullable<PreviewParams['subscription_details']>['billing_cycle_anchor'],
): boolean {
  if (value === undefined) return false;
  if (typeof value === 'string') return value === 'now';
  if (value.type === 'timestamp') {
    throw invalidRequest(
      'The emulator supports subscription_details[billing_cycle_anchor] now and unchanged only.',
      'subscription_details[billing_cycle_anchor]',
    );
  }
  return value.type === 'now';
}

function extraLines(ctx: Emulator, params: PreviewParams, _currency: string, at: number): LineDraft[] {
  return (params.invoice_items ?? []).map((item, i) => {
    const price = item.price
      ? (ctx.store.of(Prices).require(item.price, `invoice_items[${i}][price]`) as PriceRow)
      : null;
    const quantity = item.quantity ?? 1;
    const amount = price
      ? amountFor(ctx, price, quantity)
      : (item.amount ?? (item.unit_amount ?? 0) * quantity);
    return {
      amount,
      description: item.description ?? (price ? productName(ctx, price) : ''),
      discountable: item.discountable ?? true,
      period: item.period ?? { start: at, end: at },
      price,
      quantity,
      proration: false,
      subscription: null,
      metadata: {},
    };
  });
}

/** Lines for a new subscription's items without a subscription row (ids are unknown yet). */
function newSubscriptionLines(
  ctx: Emulator,
  specs: { price: PriceRow; quantity: number }[],
  period: { start: number; end: number },
  trial: boolean,
): LineDraft[] {
  const fake = { id: null } as unknown as SubscriptionRow;
  const items = specs.map((s) => ({ id: '', price: s.price, quantity: s.quantity }) as never);
  const lines = trial ? trialLines(ctx, fake, items, period) : periodLines(ctx, fake, items, period);
  return lines.map((l) => ({ ...l, subscription: null, subscriptionItem: null }));
}

export function createPreview(ctx: Emulator, params: PreviewParams): InvoiceRow {
  const subs = ctx.store.of(Subscriptions);
  let sub: SubscriptionRow | null = null;
  if (params.schedule) {
    const schedule = ctx.store.of(SubscriptionSchedules).require(params.schedule, 'schedule');
    if (typeof schedule.subscription === 'string') sub = subs.require(schedule.subscription);
  }
  if (params.subscription) sub = subs.require(params.subscription, 'subscription');
  const customerId = params.customer ?? (sub?.customer as string | undefined);
  if (!customerId) throw parameterMissing('customer');
  const customer = ctx.store.of(Customers).require(customerId, 'customer');
  if (sub && sub.customer !== customer.id) {
    throw invalidRequest(
      `The subscription ${sub.id} does not belong to customer ${customer.id}.`,
      'subscription',
    );
  }
  const sd = params.subscription_details ?? {};
  const now = nowFor(ctx, customer);
  const id = `upcoming_in_${randomAlphanumeric(24)}`;
  // Preview discounts replace the inherited ones, without being redeemed.
  const specs =
    params.discounts === undefined ? null : resolveDiscountSpecs(ctx, params.discounts ?? [], customer.id);
  const virtual: Record<string, string> = {};
  const previewDiscounts = (inherited: string[], at: number): string[] => {
    if (specs === null) return inherited.filter((d) => discountActive(ctx, d, at));
    return specs.map((spec) => {
      if (spec.kind === 'existing') return spec.discount.id;
      const tmp = `di_tmp_${randomAlphanumeric(20)}`;
      virtual[tmp] = spec.coupon.id;
      return tmp;
    });
  };

  if (!sub) {
    if (sd.items?.length) {
      const itemSpecs = sd.items.map((item, i) => {
        const price = resolvePreviewPrice(ctx, item, `subscription_details[items][${i}]`);
        return { id: null, price, quantity: item.quantity ?? 1, metadata: {} };
      });
      validateItemSet(itemSpecs, 'subscription_details[items]');
      const recurrence = recurrenceOf(itemSpecs[0]!.price);
      const trialEnd = typeof sd.trial_end === 'number' ? sd.trial_end : null;
      const period = { start: now, end: trialEnd ?? addIntervals(now, recurrence, 1) };
      const currency = itemSpecs[0]!.price.currency;
      return composeInvoice(
        ctx,
        {
          customer,
          currency,
          subscription: null,
          billingReason: 'subscription_create',
          collectionMethod: 'charge_automatically',
          autoAdvance: false,
          discounts: previewDiscounts([], now),
          virtualDiscounts: virtual,
          lines: [
            ...newSubscriptionLines(ctx, itemSpecs, period, trialEnd !== null),
            ...extraLines(ctx, params, currency, now),
          ],
          items: pendingInvoiceItems(ctx, customer.id, null, { currency }),
          periodStart: now,
          periodEnd: now,
          created: now,
        },
        id,
        { preview: true },
      ).row;
    }
    const currency = params.currency ?? customer.currency ?? 'usd';
    const items = pendingInvoiceItems(ctx, customer.id, null, { currency });
    const extra = extraLines(ctx, params, currency, now);
    if (!items.length && !extra.length) throw nothingUpcoming(customer.id);
    return composeInvoice(
      ctx,
      {
        customer,
        currency,
        subscription: null,
        billingReason: 'manual',
        collectionMethod: 'charge_automatically',
        autoAdvance: false,
        discounts: previewDiscounts([], now),
        virtualDiscounts: virtual,
        lines: extra,
        items,
        periodStart: now,
        periodEnd: now,
        created: now,
      },
      id,
      { preview: true },
    ).row;
  }

  // An existing subscription.
  if (sub.status === 'canceled' || sub.status === 'incomplete_expired' || sub.status === 'paused') {
    throw nothingUpcoming(customer.id);
  }
  const cancelAtEnd = sd.cancel_at_period_end ?? sub.cancel_at_period_end;
  const period = currentPeriod(sub);
  const proration = sd.proration_behavior ?? 'create_prorations';
  const prorationDate = sd.proration_date ?? now;
  if (sd.proration_date !== undefined && (prorationDate < period.start || prorationDate > period.end)) {
    throw invalidRequest(
      'proration_date must be within the current billing period of the subscription.',
      'subscription_details[proration_date]',
    );
  }
  const plan = planItems(ctx, sub, sd.items, period, now);
  const oldRecurrence = subscriptionRecurrence(sub);
  const newRecurrence = recurrenceOf(plan.after[0]!.price);
  const intervalChanged =
    oldRecurrence.interval !== newRecurrence.interval ||
    oldRecurrence.interval_count !== newRecurrence.interval_count;
  const trialing = sub.status === 'trialing';
  const endTrialNow = sd.trial_end === 'now' && trialing;
  const newTrialEnd = typeof sd.trial_end === 'number' ? sd.trial_end : null;
  const resetPeriod =
    newTrialEnd === null && (anchorNow(sd.billing_cycle_anchor) || intervalChanged || endTrialNow);
  const inTrial = (trialing && !endTrialNow) || newTrialEnd !== null;
  const immediate = !inTrial && (resetPeriod || (plan.changed && proration === 'always_invoice'));
  const canProrate = !inTrial && proration !== 'none' && !trialing;
  const discountIds = sub.discounts.map((d) => (typeof d === 'string' ? d : d.id));
  const toLine = (input: ReturnType<typeof prorationItems>[number]): LineDraft => ({
    amount: input.amount ?? 0,
    description: input.description ?? '',
    discountable: true,
    period: input.period!,
    price: input.price ?? null,
    quantity: input.quantity ?? 1,
    proration: true,
    subscription: sub.id,
    subscriptionItem: input.subscriptionItem ?? null,
    metadata: {},
  });

  if (immediate) {
    const newPeriod = resetPeriod ? { start: now, end: addIntervals(now, newRecurrence, 1) } : period;
    const afterItems = plan.after.map((i) => ({
      ...i,
      current_period_start: newPeriod.start,
      current_period_end: newPeriod.end,
    }));
    const prorations = canProrate
      ? prorationItems(ctx, sub, plan.before, afterItems, prorationDate, period, { creditsOnly: resetPeriod })
      : [];
    return composeInvoice(
      ctx,
      {
        customer,
        currency: sub.currency,
        subscription: sub,
        billingReason: 'subscription_update',
        collectionMethod: sub.collection_method,
        daysUntilDue: sub.days_until_due,
        autoAdvance: false,
        discounts: previewDiscounts(discountIds, now),
        virtualDiscounts: virtual,
        lines: [
          ...(resetPeriod ? periodLines(ctx, sub, afterItems, newPeriod) : []),
          ...extraLines(ctx, params, sub.currency, now),
        ],
        items: pendingInvoiceItems(ctx, customer.id, sub.id, { subscriptionOnly: true }),
        ...withProrationLines(prorations.map(toLine)),
        periodStart: now,
        periodEnd: now,
        created: now,
        prorationDate: prorations.length ? prorationDate : undefined,
      },
      id,
      { preview: true },
    ).row;
  }

  // The next renewal.
  if (cancelAtEnd || (sub.cancel_at !== null && sub.cancel_at <= period.end && sd.cancel_at === undefined)) {
    throw nothingUpcoming(customer.id);
  }
  const at = newTrialEnd ?? (trialing && sub.trial_end ? sub.trial_end : period.end);
  const prorations =
    canProrate && plan.changed
      ? prorationItems(ctx, sub, plan.before, plan.after, prorationDate, period)
      : [];
  let futureItems = plan.after;
  const scheduleId = params.schedule ?? (typeof sub.schedule === 'string' ? sub.schedule : null);
  if (scheduleId) {
    const schedule = ctx.store.of(SubscriptionSchedules).get(scheduleId);
    if (schedule && (schedule.status === 'active' || schedule.status === 'not_started')) {
      const index = phaseAt(schedule, at);
      if (index !== -1) futureItems = itemsForPhase(ctx, sub, schedule.phases[index]!, period, at);
      else if (
        at >= schedule.phases[schedule.phases.length - 1]!.end_date &&
        schedule.end_behavior === 'cancel'
      ) {
        throw nothingUpcoming(customer.id);
      }
    }
  }
  const anchor = trialing || newTrialEnd !== null ? at : sub.billing_cycle_anchor;
  const boundary = nextBoundary(anchor, newRecurrence, at);
  // Like the renewal: a cancel_at inside the next period shortens it and prorates its charges.
  const nextPeriod = {
    start: at,
    end: sub.cancel_at !== null && sub.cancel_at < boundary ? sub.cancel_at : boundary,
  };
  const nextLines = periodLines(ctx, sub, futureItems, nextPeriod).map((line) =>
    nextPeriod.end === boundary
      ? line
      : {
          ...line,
          amount: prorate(line.amount, nextPeriod.end - nextPeriod.start, boundary - nextPeriod.start),
        },
  );
  const pendingProrations = prorations.map(toLine);
  return composeInvoice(
    ctx,
    {
      customer,
      currency: sub.currency,
      subscription: sub,
      billingReason: 'subscription_cycle',
      collectionMethod: sub.collection_method,
      daysUntilDue: sub.days_until_due,
      autoAdvance: false,
      discounts: previewDiscounts(discountIds, at),
      virtualDiscounts: virtual,
      lines: [
        ...(trialing ? [] : usageLines(ctx, sub, sub.items.data, { start: period.start, end: at })),
        ...nextLines,
        ...extraLines(ctx, params, sub.currency, at),
      ],
      items: pendingInvoiceItems(ctx, customer.id, sub.id),
      ...withProrationLines(pendingProrations),
      periodStart: period.start,
      periodEnd: at,
      created: at,
      prorationDate: prorations.length ? prorationDate : undefined,
    },
    id,
    { preview: true },
  ).row;
}

/** Proration lines go after the pending items, like the invoice items they would become. */
function withProrationLines(lines: LineDraft[]): { trailingLines?: LineDraft[] } {
  return lines.length ? { trailingLines: lines } : {};
}

function resolvePreviewPrice(
  ctx: Emulator,
  item: NonNullable<NonNullable<PreviewParams['subscription_details']>['items']>[number],
  param: string,
): PriceRow {
  const price = resolveItemPrice(ctx, item, param);
  if (!price) throw parameterMissing(`${param}[price]`);
  return price;
}

/**
 * `invoice.upcoming`, a few days before a subscription renews (or its trial ends): the preview
 * of that invoice. Like Stripe's, the object has no id (the invoice does not exist yet).
 */
export const upcomingJob = defineJob<{ subscription: string; at: number }>(
  'billing.invoice_upcoming',
  (ctx, p) => {
    const sub = ctx.store.of(Subscriptions).get(p.subscription);
    if (!sub || !['active', 'trialing', 'past_due'].includes(sub.status)) return;
    if (currentPeriod(sub).end !== p.at || sub.cancel_at_period_end) return;
    if (sub.cancel_at !== null && sub.cancel_at <= p.at) return;
    let preview: InvoiceRow;
    try {
      preview = createPreview(ctx, { subscription: sub.id });
    } catch {
      return;
    }
    const { id: _id, ...upcoming } = preview;
    emitEvent(ctx, 'invoice.upcoming', upcoming as unknown as Row);
  },
);
