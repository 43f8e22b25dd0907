/**
 * Subscriptions: create, update (items, prorations, anchors, trials, cancellation flags,
 * pause_collection), cancel, pause / resume, and the engine that moves them through time
 * (renewals, trial ends, cancel at period end / cancel_at, incomplete expiry, dunning ends).
 *
 * Every status change emits `customer.subscription.*` with `previous_attributes`; changes
 * made by jobs carry `request: null`. While an API call is creating or updating a
 * subscription (meta `busy`), invoice outcomes it causes are folded into that call's single
 * event instead of emitting their own.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { diff, emitEvent, nowFor, testClockOf } from '../../core/events.ts';
import { defineJob, scheduleJob } from '../../core/scheduler.ts';
import { invalidRequest, parameterMissing, StripeApiError } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { amountFor } from '../catalog/pricing.ts';
import { Prices } from '../catalog/tables.ts';
import { Customers } from '../customers/tables.ts';
import { createSetupIntent } from '../payments/setup-intent-ops.ts';
import { PaymentIntents, SetupIntents } from '../payments/tables.ts';
import { mergeMetadata } from '../shared.ts';
import {
  applyDiscounts,
  createDiscounts,
  type DiscountSpec,
  discountActive,
  discountParams,
  resolveDiscountSpecs,
} from './discounts.ts';
import { buildInvoiceItem, insertInvoiceItem, pendingInvoiceItems } from './invoice-item-ops.ts';
import {
  attemptPayment,
  balanceApplication,
  checkPaymentMethodParam,
  collectInvoice,
  createInvoice,
  finalizeInvoice,
  type LineDraft,
  markUncollectible,
  NO_PAYMENT_METHOD_MESSAGE,
  predictedFailure,
  predictPayment,
  requiresActionError,
  usePaymentMethod,
  voidInvoice,
} from './invoice-ops.ts';
import { upcomingJob } from './preview.ts';
import { applyDueSchedulePhases, scheduleCanceledWithSubscription } from './schedule-ops.ts';
import {
  buildItem,
  currentPeriod,
  type ItemParam,
  type ItemSpec,
  itemParams,
  itemsList,
  periodLines,
  prorationItems,
  resolveItemPrice,
  saveSubscription,
  subscriptionRecurrence,
  trialLines,
  usageLines,
  validateItemSet,
  withPeriod,
} from './subscription-model.ts';
import {
  type InvoiceRow,
  Invoices,
  type SubscriptionItemRow,
  type SubscriptionMeta,
  type SubscriptionRow,
  Subscriptions,
} from './tables.ts';
import { addIntervals, formatDate, nextBoundary, prorate, recurrenceOf } from './time-money.ts';

export type ProrationBehavior = 'create_prorations' | 'always_invoice' | 'none';
export type PaymentBehavior =
  | 'allow_incomplete'
  | 'default_incomplete'
  | 'error_if_incomplete'
  | 'pending_if_incomplete';

const ENDED = new Set(['canceled', 'incomplete_expired']);
const TRIAL_WILL_END_AHEAD = 3 * 86_400;
const INCOMPLETE_EXPIRY = 23 * 3600;
/** invoice.upcoming is sent this long before a renewal (Stripe's setting, 3 days here). */
const UPCOMING_AHEAD = 3 * 86_400;

// ---------------------------------------------------------------------------------------------
// Parameters

const addInvoiceItemParams = p.object({
  price: p.string(),
  price_data: p.object({
    currency: p.required(p.currency()),
    product: p.required(p.string()),
    unit_amount: p.int({ min: 0 }),
    unit_amount_decimal: p.decimal(),
    tax_behavior: p.enum(['exclusive', 'inclusive', 'unspecified']),
  }),
  quantity: p.int({ min: 1 }),
  metadata: p.metadata(),
  discountable: p.bool(),
  discounts: p.any(),
  period: p.any(),
  tax_rates: p.any(),
});

const trialSettingsParams = p.object({
  end_behavior: p.required(
    p.object({
      missing_payment_method: p.required(p.enum(['cancel', 'create_invoice', 'pause'])),
      billing_cycle_anchor: p.enum(['now', 'unchanged']),
    }),
  ),
});

const sharedParams = {
  add_invoice_items: p.array(addInvoiceItemParams, { max: 20 }),
  application_fee_percent: p.any(),
  automatic_tax: p.any(),
  billing_schedules: p.any(),
  billing_thresholds: p.any(),
  cancel_at_period_end: p.bool(),
  collection_method: p.enum(['charge_automatically', 'send_invoice']),
  days_until_due: p.int({ min: 0, max: 730 }),
  default_payment_method: p.string(),
  default_source: p.any(),
  default_tax_rates: p.any(),
  discounts: discountParams,
  invoice_settings: p.object({
    account_tax_ids: p.any(),
    custom_fields: p.any(),
    description: p.emptyable(p.string()),
    footer: p.emptyable(p.string()),
    issuer: p.any(),
  }),
  items: p.array(itemParams, { max: 20 }),
  metadata: p.metadata(),
  off_session: p.bool(),
  on_behalf_of: p.any(),
  payment_behavior: p.enum([
    'allow_incomplete',
    'default_incomplete',
    'error_if_incomplete',
    'pending_if_incomplete',
  ]),
  payment_settings: p.object({
    payment_method_options: p.any(),
    payment_method_types: p.any(),
    save_default_payment_method: p.enum(['off', 'on_subscription']),
  }),
  pending_invoice_item_interval: p.any(),
  proration_behavior: p.enum(['always_invoice', 'create_prorations', 'none']),
  transfer_data: p.any(),
  trial_end: p.timestamp({ allowNow: true }),
  trial_from_plan: p.bool(),
  trial_settings: trialSettingsParams,
};

export const createSubscriptionParams = {
  ...sharedParams,
  customer: p.string(),
  customer_account: p.string(),
  backdate_start_date: p.timestamp(),
  billing_cycle_anchor: p.timestamp(),
  billing_cycle_anchor_config: p.any(),
  billing_mode: p.object({ type: p.required(p.enum(['classic', 'flexible'])), flexible: p.any() }),
  cancel_at: p.union(p.timestamp(), p.enum(['max_period_end', 'min_period_end'])),
  currency: p.currency(),
  description: p.string({ maxLength: 500 }),
  trial_period_days: p.int({ min: 0, max: 730 }),
};

export const updateSubscriptionParams = {
  ...sharedParams,
  // `billing_cycle_anchor[type]=now` (this API version) or the older `billing_cycle_anchor=now`.
  billing_cycle_anchor: p.union(
    p.enum(['now', 'unchanged']),
    p.object({ type: p.required(p.enum(['now', 'unchanged'])) }),
  ),
  cancel_at: p.emptyable(p.union(p.timestamp(), p.enum(['max_period_end', 'min_period_end']))),
  cancellation_details: p.object({
    comment: p.emptyable(p.string()),
    feedback: p.emptyable(
      p.enum([
        'customer_service',
        'low_quality',
        'missing_features',
        'other',
        'switched_service',
        'too_complex',
        'too_expensive',
        'unused',
      ]),
    ),
    feedback_option: p.string(),
  }),
  description: p.emptyable(p.string({ maxLength: 500 })),
  pause_collection: p.emptyable(
    p.object({
      behavior: p.required(p.enum(['keep_as_draft', 'mark_uncollectible', 'void'])),
      resumes_at: p.timestamp(),
    }),
  ),
  proration_date: p.timestamp(),
};

type Shape<S> = { [K in keyof S]?: S[K] extends { parse(...args: never[]): infer T } ? T : never };
export type CreateSubscriptionParams = Shape<typeof createSubscriptionParams>;
export type UpdateSubscriptionParams = Shape<typeof updateSubscriptionParams>;

// ---------------------------------------------------------------------------------------------
// Helpers

function meta(ctx: Emulator, id: string): SubscriptionMeta {
  return ctx.store.of(Subscriptions).meta(id) ?? {};
}

function setMeta(ctx: Emulator, id: string, patch: Partial<SubscriptionMeta>): void {
  ctx.store.of(Subscriptions).setMeta(id, { ...meta(ctx, id), ...patch });
}

/** The PaymentMethod that would pay this subscription's invoices. */
export function subscriptionPaymentMethod(
  ctx: Emulator,
  sub: { default_payment_method: unknown; customer: unknown },
): string | null {
  if (typeof sub.default_payment_method === 'string') return sub.default_payment_method;
  const customer = ctx.store.of(Customers).get(sub.customer as string);
  const pm = customer?.invoice_settings.default_payment_method;
  return typeof pm === 'string' ? pm : null;
}

function specsFromParams(ctx: Emulator, items: ItemParam[], param = 'items'): ItemSpec[] {
  return items.map((item, i) => {
    const price = resolveItemPrice(ctx, item, `${param}[${i}]`);
    if (!price) throw parameterMissing(`${param}[${i}][price]`);
    return { id: null, price, quantity: item.quantity ?? 1, metadata: mergeMetadata({}, item.metadata) };
  });
}

function cancelAtFor(value: number | 'max_period_end' | 'min_period_end', periodEnd: number): number {
  return typeof value === 'number' ? value : periodEnd;
}

/** Total an invoice would have (for deciding whether a payment is needed before creating it). */
function estimateTotal(
  ctx: Emulator,
  lines: LineDraft[],
  specs: DiscountSpec[],
  existingDiscounts: string[],
  currency: string,
): number {
  const rows = lines.map((l) => ({
    amount: l.amount,
    discountable: l.discountable,
    pricing: l.price
      ? {
          type: 'price_details' as const,
          price_details: { price: l.price.id, product: l.price.product as string },
          unit_amount_decimal: null,
        }
      : null,
  }));
  const subtotal = rows.reduce((s, l) => s + l.amount, 0);
  const ids = [...existingDiscounts, ...specs.filter((s) => s.kind === 'existing').map((s) => s.discount.id)];
  let discount = applyDiscounts(ctx, rows as never, ids, currency).totals.reduce((s, d) => s + d.amount, 0);
  // New coupons are not stored yet: estimate them the same way.
  let remaining = subtotal - discount;
  for (const spec of specs) {
    if (spec.kind !== 'new') continue;
    const c = spec.coupon;
    const off =
      c.percent_off !== null
        ? Math.round((remaining * c.percent_off) / 100)
        : c.amount_off !== null && c.currency === currency
          ? Math.min(c.amount_off, Math.max(0, remaining))
          : 0;
    discount += off;
    remaining -= off;
  }
  return subtotal - discount;
}

/** Refuse before anything changes when an immediate payment cannot go through. */
function checkPayable(
  ctx: Emulator,
  opts: {
    amount: number;
    balance: number;
    collectionMethod: string;
    paymentBehavior: PaymentBehavior;
    paymentMethod: string | null;
    offSession: boolean;
  },
): 'succeed' | 'fail' | 'action' | 'not_needed' {
  const { amountDue } = balanceApplication(opts.amount, opts.balance);
  if (amountDue <= 0 || opts.collectionMethod !== 'charge_automatically') return 'not_needed';
  if (opts.paymentBehavior === 'default_incomplete') return 'not_needed';
  if (!opts.paymentMethod) {
    throw new StripeApiError({
      status: 400,
      type: 'invalid_request_error',
      code: 'resource_missing',
      message: NO_PAYMENT_METHOD_MESSAGE,
    });
  }
  const outcome = predictPayment(ctx, opts.paymentMethod, opts.offSession);
  if (opts.paymentBehavior === 'error_if_incomplete') {
    if (outcome === 'fail') throw predictedFailure(ctx, opts.paymentMethod);
    if (outcome === 'action') throw requiresActionError();
  }
  return outcome === 'none' ? 'fail' : outcome;
}

// ---------------------------------------------------------------------------------------------
// Create

export function createSubscription(
  ctx: Emulator,
  params: CreateSubscriptionParams,
  extra: { schedule?: string } = {},
): SubscriptionRow {
  if (!params.customer) throw parameterMissing('customer');
  const customer = ctx.store.of(Customers).require(params.customer, 'customer');
  const now = nowFor(ctx, customer);
  if (!params.items?.length) throw parameterMissing('items');
  const specs = specsFromParams(ctx, params.items);
  validateItemSet(specs);
  const first = specs[0]!.price;
  const currency = first.currency;
  if (params.currency && params.currency !== currency) {
    throw invalidRequest(
      `The currency ${params.currency} does not match the prices' currency ${currency}.`,
      'currency',
    );
  }
  const recurrence = recurrenceOf(first);
  const paymentBehavior: PaymentBehavior = params.payment_behavior ?? 'allow_incomplete';
  if (paymentBehavior === 'pending_if_incomplete') {
    throw invalidRequest(
      'pending_if_incomplete is only used with updates and cannot be passed when creating a subscription.',
      'payment_behavior',
    );
  }
  const collectionMethod = params.collection_method ?? 'charge_automatically';
  if (collectionMethod === 'send_invoice' && params.days_until_due === undefined) {
    throw invalidRequest(
      'Missing required param: days_until_due. It is required when collection_method is send_invoice.',
      'days_until_due',
      'parameter_missing',
    );
  }
  if (collectionMethod === 'charge_automatically' && params.days_until_due !== undefined) {
    throw invalidRequest(
      'days_until_due can only be set when collection_method is send_invoice.',
      'days_until_due',
    );
  }
  // Trial.
  let trialEnd: number | null = null;
  if (params.trial_end !== undefined && params.trial_end !== 'now') {
    if (params.trial_end <= now) {
      throw invalidRequest(
        'Invalid timestamp: must be an integer Unix timestamp in the future.',
        'trial_end',
      );
    }
    if (params.trial_end > now + 730 * 86_400) {
      throw invalidRequest('The trial_end can be at most two years in the future.', 'trial_end');
    }
    trialEnd = params.trial_end;
  } else if (params.trial_end === undefined && params.trial_period_days) {
    trialEnd = now + params.trial_period_days * 86_400;
  } else if (params.trial_end === undefined && params.trial_from_plan && first.recurring?.trial_period_days) {
    trialEnd = now + first.recurring.trial_period_days * 86_400;
  }
  // Billing cycle anchor (first period shortened to it).
  let anchor = trialEnd ?? now;
  let firstEnd = trialEnd ?? addIntervals(now, recurrence, 1);
  let anchorProration = false;
  if (params.billing_cycle_anchor !== undefined && trialEnd === null) {
    const limit = addIntervals(now, recurrence, 1);
    if (params.billing_cycle_anchor < now || params.billing_cycle_anchor > limit) {
      throw invalidRequest(
        'billing_cycle_anchor must be in the future and within one billing period of the subscription start.',
        'billing_cycle_anchor',
      );
    }
    if (params.billing_cycle_anchor > now) {
      anchor = params.billing_cycle_anchor;
      firstEnd = anchor;
      anchorProration = firstEnd !== limit;
    }
  }
  let cancelAt: number | null = null;
  if (params.cancel_at !== undefined) {
    cancelAt = cancelAtFor(params.cancel_at, firstEnd);
    if (cancelAt <= now) throw invalidRequest('cancel_at must be in the future.', 'cancel_at');
  }
  const discountSpecs = resolveDiscountSpecs(ctx, params.discounts ?? [], customer.id);
  const addItems = (params.add_invoice_items ?? []).map((item, i) => {
    const price = item.price
      ? ctx.store.of(Prices).require(item.price, `add_invoice_items[${i}][price]`)
      : null;
    if (!price && !item.price_data) throw parameterMissing(`add_invoice_items[${i}][price]`);
    return { item, price };
  });
  // Will the first invoice need a payment, and can it be made?
  const pmParam = params.default_payment_method;
  const periodAmount = trialEnd
    ? 0
    : specs.reduce((sum, s) => {
        if (s.price.recurring?.usage_type === 'metered') return sum;
        const full = amountFor(ctx, s.price, s.quantity);
        if (!anchorProration) return sum + full;
        const periodStart = addIntervals(anchor, recurrence, -1);
        return (
          sum + (params.proration_behavior === 'none' ? 0 : prorate(full, anchor - now, anchor - periodStart))
        );
      }, 0);
  const pendingNow = pendingInvoiceItems(ctx, customer.id, null).reduce((s, ii) => s + ii.amount, 0);
  const addNow = addItems.reduce(
    (s, a) =>
      s +
      (a.price
        ? amountFor(ctx, a.price, a.item.quantity ?? 1)
        : (a.item.price_data?.unit_amount ?? 0) * (a.item.quantity ?? 1)),
    0,
  );
  const estimate = estimateTotal(
    ctx,
    [{ amount: periodAmount + pendingNow + addNow, discountable: true, price: null } as LineDraft],
    discountSpecs,
    [],
    currency,
  );
  const pmChecked = pmParam
    ? checkPaymentMethodParam(ctx, pmParam, customer.id, 'default_payment_method')
    : null;
  // A schedule starting its subscription bills the first invoice like a renewal (an hour
  // later, dunning on failure), so nothing is checked up front.
  const fromSchedule = extra.schedule !== undefined;
  if (!fromSchedule) {
    checkPayable(ctx, {
      amount: estimate,
      balance: customer.balance,
      collectionMethod,
      paymentBehavior,
      paymentMethod: pmChecked ?? (customer.invoice_settings.default_payment_method as string | null),
      offSession: params.off_session ?? false,
    });
  }
  const resolvedPm = pmChecked
    ? usePaymentMethod(ctx, pmChecked, customer.id, 'default_payment_method')
    : null;

  // --- From here on, state changes.
  const subs = ctx.store.of(Subscriptions);
  const id = subs.newId();
  const period = { start: now, end: firstEnd };
  const items = specs.map((spec) => buildItem(ctx, id, spec, period, now));
  const discountIds = createDiscounts(ctx, discountSpecs, { customer: customer.id, subscription: id }, now);
  const billingMode = params.billing_mode?.type ?? 'flexible';
  let sub: SubscriptionRow = {
    id,
    object: 'subscription',
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: anchor,
    billing_cycle_anchor_config: null,
    billing_mode: {
      flexible: billingMode === 'flexible' ? { proration_discounts: 'included' } : null,
      type: billingMode,
      updated_at: now,
    },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: params.cancel_at_period_end ? firstEnd : cancelAt,
    cancel_at_period_end: params.cancel_at_period_end ?? false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
    collection_method: collectionMethod,
    created: now,
    currency,
    customer: customer.id,
    customer_account: null,
    days_until_due: params.days_until_due ?? null,
    default_payment_method: resolvedPm,
    default_source: null,
    default_tax_rates: [],
    description: params.description ?? null,
    discounts: discountIds,
    ended_at: null,
    invoice_settings: {
      account_tax_ids: null,
      custom_fields: null,
      description: params.invoice_settings?.description ?? null,
      footer: params.invoice_settings?.footer ?? null,
      issuer: { type: 'self' },
    },
    items: itemsList(id, items),
    latest_invoice: null,
    livemode: false,
    managed_payments: null,
    metadata: mergeMetadata({}, params.metadata),
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: {
      payment_method_options: null,
      payment_method_types: null,
      save_default_payment_method: params.payment_settings?.save_default_payment_method ?? 'off',
    },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: extra.schedule ?? null,
    start_date: now,
    status: 'incomplete',
    test_clock: customer.test_clock ?? null,
    transfer_data: null,
    trial_end: trialEnd,
    trial_settings: {
      end_behavior: {
        billing_cycle_anchor: params.trial_settings?.end_behavior.billing_cycle_anchor ?? null,
        missing_payment_method:
          params.trial_settings?.end_behavior.missing_payment_method ?? 'create_invoice',
      },
    },
    trial_start: trialEnd ? now : null,
  };
  saveSubscription(ctx, sub);
  setMeta(ctx, id, { busy: true });
  for (const { item, price } of addItems) {
    insertInvoiceItem(
      ctx,
      buildInvoiceItem(ctx, {
        customer,
        currency,
        price,
        quantity: item.quantity ?? 1,
        amount: price ? undefined : (item.price_data?.unit_amount ?? 0) * (item.quantity ?? 1),
        description: price ? undefined : null,
        metadata: mergeMetadata({}, item.metadata),
        discountable: item.discountable,
        subscription: id,
      }),
    );
  }
  // The first invoice.
  let lines: LineDraft[];
  if (trialEnd) lines = trialLines(ctx, sub, items, period);
  else if (anchorProration) {
    const fullStart = addIntervals(anchor, recurrence, -1);
    lines = periodLines(ctx, sub, items, period).map((line) => ({
      ...line,
      amount:
        params.proration_behavior === 'none' ? 0 : prorate(line.amount, anchor - now, anchor - fullStart),
      description: `Remaining time on ${line.description.replace(/ \(at .*\)$/, '')} after ${formatDate(now)}`,
      proration: true,
    }));
  } else lines = periodLines(ctx, sub, items, period);
  const invoiceId = ctx.store.of(Invoices).newId();
  sub = saveSubscription(ctx, { ...sub, latest_invoice: invoiceId });
  const invoice = createInvoice(
    ctx,
    {
      customer: ctx.store.of(Customers).require(customer.id),
      currency,
      subscription: sub,
      billingReason: 'subscription_create',
      collectionMethod,
      daysUntilDue: params.days_until_due ?? null,
      autoAdvance: true,
      description: sub.invoice_settings.description ?? null,
      footer: sub.invoice_settings.footer ?? null,
      discounts: discountIds,
      lines,
      items: pendingInvoiceItems(ctx, customer.id, id),
      periodStart: now,
      periodEnd: now,
      created: now,
    },
    invoiceId,
  );
  if (!fromSchedule) {
    const finalized = finalizeInvoice(ctx, invoice);
    if (finalized.status === 'open') {
      if (collectionMethod === 'send_invoice') collectInvoice(ctx, finalized);
      else if (paymentBehavior !== 'default_incomplete') {
        attemptPayment(ctx, finalized, { automatic: false, offSession: params.off_session ?? false });
      }
    }
  }
  const paidInvoice = ctx.store.of(Invoices).require(invoiceId);
  const status: Stripe.Subscription.Status = trialEnd
    ? 'trialing'
    : fromSchedule || paidInvoice.status === 'paid' || collectionMethod === 'send_invoice'
      ? 'active'
      : 'incomplete';
  // Nothing to pay now but a card to collect: the client confirms pending_setup_intent.
  let pendingSetupIntent: string | null = null;
  if (
    paymentBehavior === 'default_incomplete' &&
    collectionMethod === 'charge_automatically' &&
    paidInvoice.amount_due === 0 &&
    !resolvedPm
  ) {
    pendingSetupIntent = createSetupIntent(ctx, {
      customer: customer.id,
      usage: 'off_session',
      payment_method_types: ['card'],
      owner: { object: 'subscription', id },
    }).id;
  }
  sub = saveSubscription(ctx, {
    ...ctx.store.of(Subscriptions).require(id),
    status,
    pending_setup_intent: pendingSetupIntent,
  });
  setMeta(ctx, id, { busy: false, firstInvoice: fromSchedule ? undefined : invoiceId });
  emitEvent(ctx, 'customer.subscription.created', sub);
  if (status === 'incomplete') {
    scheduleJob(ctx, expireJob, {
      clock: testClockOf(ctx, sub),
      at: now + INCOMPLETE_EXPIRY,
      payload: { subscription: id },
      key: `sub-expire:${id}`,
    });
  }
  scheduleLifecycle(ctx, sub);
  return ctx.store.of(Subscriptions).require(id);
}

// ---------------------------------------------------------------------------------------------
// Update

export interface ItemPlan {
  before: SubscriptionItemRow[];
  after: SubscriptionItemRow[];
  changed: boolean;
}

export function planItems(
  ctx: Emulator,
  sub: SubscriptionRow,
  params: ItemParam[] | undefined,
  period: { start: number; end: number },
  now: number,
): ItemPlan {
  const before = sub.items.data;
  if (!params?.length) return { before, after: before, changed: false };
  const byId = new Map(before.map((i) => [i.id, i]));
  const specs = new Map<string, ItemSpec>(
    before.map((i) => [i.id, { id: i.id, price: i.price, quantity: i.quantity ?? 1, metadata: i.metadata }]),
  );
  const added: ItemSpec[] = [];
  const deleted = new Set<string>();
  params.forEach((item, i) => {
    const param = `items[${i}]`;
    if (item.id !== undefined) {
      const existing = byId.get(item.id);
      if (!existing) {
        throw invalidRequest(
          `Subscription item ${item.id} does not belong to subscription ${sub.id}.`,
          `${param}[id]`,
          'resource_missing',
        );
      }
      if (item.deleted) {
        deleted.add(item.id);
        return;
      }
      const spec = specs.get(item.id)!;
      const price = resolveItemPrice(ctx, item, param);
      specs.set(item.id, {
        id: item.id,
        price: price ?? spec.price,
        quantity: item.quantity ?? spec.quantity,
        metadata: item.metadata === undefined ? spec.metadata : mergeMetadata(spec.metadata, item.metadata),
      });
      return;
    }
    if (item.deleted) throw invalidRequest('You must pass an item id with `deleted`.', `${param}[deleted]`);
    const price = resolveItemPrice(ctx, item, param);
    if (!price) throw parameterMissing(`${param}[price]`);
    // Without an id this adds an item (a price already on the subscription is refused below).
    added.push({ id: null, price, quantity: item.quantity ?? 1, metadata: mergeMetadata({}, item.metadata) });
  });
  const finalSpecs = [...[...specs.values()].filter((s) => !deleted.has(s.id!)), ...added];
  validateItemSet(finalSpecs);
  const after = finalSpecs.map((spec) =>
    buildItem(ctx, sub.id, spec, period, now, spec.id ? byId.get(spec.id) : undefined),
  );
  const key = (items: SubscriptionItemRow[]) =>
    JSON.stringify(items.map((i) => [i.id, i.price.id, i.quantity ?? null]).sort());
  const changed = key(before) !== key(after);
  return { before, after, changed };
}

export function updateSubscription(
  ctx: Emulator,
  old: SubscriptionRow,
  params: UpdateSubscriptionParams,
): SubscriptionRow {
  const subs = ctx.store.of(Subscriptions);
  if (ENDED.has(old.status)) {
    const allowed = new Set(['metadata', 'cancellation_details']);
    const bad = Object.keys(params).find((k) => !allowed.has(k));
    if (bad) {
      throw invalidRequest(
        'A canceled subscription can only update its cancellation_details and metadata.',
        bad,
      );
    }
    const next = saveSubscription(ctx, {
      ...old,
      metadata: mergeMetadata(old.metadata, params.metadata),
      cancellation_details: applyCancellationDetails(old, params.cancellation_details),
    });
    const previous = diff(old, next);
    if (Object.keys(previous).length)
      emitEvent(ctx, 'customer.subscription.updated', next, { previousAttributes: previous });
    return next;
  }
  const customer = ctx.store.of(Customers).require(old.customer as string);
  const now = nowFor(ctx, old);
  const proration: ProrationBehavior = params.proration_behavior ?? 'create_prorations';
  const paymentBehavior: PaymentBehavior = params.payment_behavior ?? 'allow_incomplete';
  const period = currentPeriod(old);
  const prorationDate = params.proration_date ?? now;
  if (params.proration_date !== undefined && (prorationDate < period.start || prorationDate > period.end)) {
    throw invalidRequest(
      'proration_date must be within the current billing period of the subscription.',
      'proration_date',
    );
  }
  const plan = planItems(ctx, old, params.items, period, now);
  const oldRecurrence = subscriptionRecurrence(old);
  const newRecurrence = recurrenceOf(plan.after[0]!.price);
  const intervalChanged =
    oldRecurrence.interval !== newRecurrence.interval ||
    oldRecurrence.interval_count !== newRecurrence.interval_count;
  const trialing = old.status === 'trialing';
  let trialEnd = old.trial_end;
  let endTrialNow = false;
  let newTrial = false;
  if (params.trial_end === 'now') {
    if (trialing) endTrialNow = true;
  } else if (typeof params.trial_end === 'number') {
    if (params.trial_end <= now) {
      throw invalidRequest(
        'Invalid timestamp: must be an integer Unix timestamp in the future.',
        'trial_end',
      );
    }
    trialEnd = params.trial_end;
    newTrial = true;
  }
  if (old.status === 'incomplete' && (plan.changed || intervalChanged)) {
    throw invalidRequest(
      'An incomplete subscription can only be updated once its first invoice is paid (or to change its payment method or metadata).',
      'items',
    );
  }
  const resetPeriod =
    !newTrial &&
    (anchorType(params.billing_cycle_anchor) === 'now' || intervalChanged || endTrialNow) &&
    old.status !== 'paused';
  const inTrial = (trialing && !endTrialNow) || newTrial;
  const immediate = !inTrial && (resetPeriod || (plan.changed && proration === 'always_invoice'));
  const collectionMethod = params.collection_method ?? old.collection_method;
  const discountSpecs =
    params.discounts === undefined ? null : resolveDiscountSpecs(ctx, params.discounts ?? [], customer.id);
  const newPeriod = resetPeriod
    ? { start: now, end: addIntervals(now, newRecurrence, 1) }
    : newTrial
      ? { start: period.start, end: trialEnd! }
      : period;
  const afterItems = plan.after.map((i) => ({
    ...i,
    current_period_start: newPeriod.start,
    current_period_end: newPeriod.end,
  }));
  // Lines an immediate invoice would have (for the payment checks before changing anything).
  const prorate = !inTrial && proration !== 'none' && !trialing;
  const prorationInputs = prorate
    ? resetPeriod
      ? prorationItems(ctx, old, plan.before, afterItems, prorationDate, period, { creditsOnly: true })
      : plan.changed
        ? prorationItems(ctx, old, plan.before, afterItems, prorationDate, period)
        : []
    : [];
  const immediateLines: LineDraft[] = resetPeriod ? periodLines(ctx, old, afterItems, newPeriod) : [];
  let pendingOutcome: 'succeed' | 'fail' | 'action' | 'not_needed' = 'not_needed';
  const pmParam = params.default_payment_method;
  const pmChecked = pmParam
    ? checkPaymentMethodParam(ctx, pmParam, customer.id, 'default_payment_method')
    : null;
  // Ending a trial now without a payment method follows trial_settings, like the trial's end.
  const payer = pmChecked ?? subscriptionPaymentMethod(ctx, old);
  const trialEndWithoutPm = endTrialNow && !payer && collectionMethod === 'charge_automatically';
  const missingPm =
    params.trial_settings?.end_behavior.missing_payment_method ??
    old.trial_settings?.end_behavior.missing_payment_method ??
    'create_invoice';
  if (trialEndWithoutPm && missingPm !== 'create_invoice' && !plan.changed) {
    const ended = saveSubscription(ctx, {
      ...old,
      trial_end: now,
      metadata: mergeMetadata(old.metadata, params.metadata),
    });
    if (missingPm === 'pause') return pauseSubscription(ctx, ended, 'trial_end_without_payment_method', old);
    return cancelSubscription(ctx, ended, { reason: 'cancellation_requested' });
  }
  if (immediate && !trialEndWithoutPm) {
    const pending = pendingInvoiceItems(ctx, customer.id, old.id, { subscriptionOnly: true });
    const amount =
      immediateLines.reduce((s, l) => s + l.amount, 0) +
      prorationInputs.reduce((s, l) => s + (l.amount ?? 0), 0) +
      pending.reduce((s, ii) => s + ii.amount, 0);
    const discountIds = discountSpecs ? [] : old.discounts.map((d) => (typeof d === 'string' ? d : d.id));
    const estimate = estimateTotal(
      ctx,
      [{ amount, discountable: true, price: null } as LineDraft],
      discountSpecs ?? [],
      discountIds,
      old.currency,
    );
    pendingOutcome = checkPayable(ctx, {
      amount: estimate,
      balance: customer.balance,
      collectionMethod,
      paymentBehavior,
      paymentMethod: pmChecked ?? subscriptionPaymentMethod(ctx, old),
      offSession: params.off_session ?? false,
    });
  }
  if (params.pause_collection?.resumes_at !== undefined && params.pause_collection.resumes_at <= now) {
    throw invalidRequest('resumes_at must be in the future.', 'pause_collection[resumes_at]');
  }
  if (params.cancel_at !== undefined && params.cancel_at !== null) {
    const at = cancelAtFor(params.cancel_at, newPeriod.end);
    if (at <= now) throw invalidRequest('cancel_at must be in the future.', 'cancel_at');
  }
  if (collectionMethod === 'send_invoice' && (params.days_until_due ?? old.days_until_due) === null) {
    throw invalidRequest(
      'Missing required param: days_until_due. It is required when collection_method is send_invoice.',
      'days_until_due',
      'parameter_missing',
    );
  }
  const deferItems =
    paymentBehavior === 'pending_if_incomplete' &&
    immediate &&
    pendingOutcome !== 'succeed' &&
    pendingOutcome !== 'not_needed';

  // --- State changes.
  setMeta(ctx, old.id, { busy: true });
  const defaultPm =
    pmChecked === null
      ? old.default_payment_method
      : usePaymentMethod(ctx, pmChecked, customer.id, 'default_payment_method');
  const discounts =
    discountSpecs === null
      ? old.discounts
      : createDiscounts(ctx, discountSpecs, { customer: customer.id, subscription: old.id }, now);
  let cancelAtPeriodEnd = params.cancel_at_period_end ?? old.cancel_at_period_end;
  let cancelAt = old.cancel_at;
  if (params.cancel_at_period_end === true) cancelAt = newPeriod.end;
  else if (params.cancel_at_period_end === false && old.cancel_at_period_end) cancelAt = null;
  if (params.cancel_at !== undefined) {
    cancelAt = params.cancel_at === null ? null : cancelAtFor(params.cancel_at, newPeriod.end);
    if (params.cancel_at !== null && params.cancel_at_period_end === undefined) cancelAtPeriodEnd = false;
  }
  if (resetPeriod && cancelAtPeriodEnd) cancelAt = newPeriod.end;
  let next: SubscriptionRow = {
    ...old,
    items: itemsList(old.id, deferItems ? old.items.data : afterItems),
    billing_cycle_anchor: resetPeriod ? now : newTrial ? trialEnd! : old.billing_cycle_anchor,
    cancel_at: cancelAt,
    cancel_at_period_end: cancelAtPeriodEnd,
    cancellation_details: applyCancellationDetails(old, params.cancellation_details),
    collection_method: collectionMethod,
    days_until_due:
      collectionMethod === 'charge_automatically' ? null : (params.days_until_due ?? old.days_until_due),
    default_payment_method: defaultPm,
    description: params.description === undefined ? old.description : params.description,
    discounts,
    invoice_settings: {
      ...old.invoice_settings,
      description:
        params.invoice_settings?.description === undefined
          ? old.invoice_settings.description
          : params.invoice_settings.description,
      footer:
        params.invoice_settings?.footer === undefined
          ? old.invoice_settings.footer
          : params.invoice_settings.footer,
    },
    metadata: mergeMetadata(old.metadata, params.metadata),
    pause_collection:
      params.pause_collection === undefined
        ? old.pause_collection
        : params.pause_collection && {
            behavior: params.pause_collection.behavior,
            resumes_at: params.pause_collection.resumes_at ?? null,
          },
    payment_settings: params.payment_settings?.save_default_payment_method
      ? {
          ...old.payment_settings!,
          save_default_payment_method: params.payment_settings.save_default_payment_method,
        }
      : old.payment_settings,
    status: endTrialNow ? 'active' : newTrial ? 'trialing' : old.status,
    trial_end: endTrialNow ? now : trialEnd,
    trial_start: newTrial && !trialing ? now : old.trial_start,
    trial_settings: params.trial_settings
      ? {
          end_behavior: {
            billing_cycle_anchor: params.trial_settings.end_behavior.billing_cycle_anchor ?? null,
            missing_payment_method: params.trial_settings.end_behavior.missing_payment_method,
          },
        }
      : old.trial_settings,
  };
  saveSubscription(ctx, next);
  // Proration lines wait for the next invoice (or go on the immediate one).
  for (const input of prorationInputs) insertInvoiceItem(ctx, buildInvoiceItem(ctx, { ...input, customer }));
  if (immediate) {
    const invoice = createInvoice(ctx, {
      customer: ctx.store.of(Customers).require(customer.id),
      currency: old.currency,
      subscription: next,
      billingReason: 'subscription_update',
      collectionMethod,
      daysUntilDue: next.days_until_due,
      autoAdvance: true,
      discounts: discounts
        .filter((d) => discountActive(ctx, typeof d === 'string' ? d : d.id, now))
        .map((d) => (typeof d === 'string' ? d : d.id)),
      lines: immediateLines,
      items: pendingInvoiceItems(ctx, customer.id, old.id, { subscriptionOnly: true }),
      periodStart: now,
      periodEnd: now,
      created: now,
    });
    next = saveSubscription(ctx, { ...subs.require(old.id), latest_invoice: invoice.id });
    const finalized = finalizeInvoice(ctx, invoice);
    if (finalized.status === 'open') {
      if (collectionMethod === 'send_invoice') collectInvoice(ctx, finalized);
      else if (paymentBehavior !== 'default_incomplete') {
        attemptPayment(ctx, finalized, { automatic: false, offSession: params.off_session ?? false });
      }
    }
    const after = ctx.store.of(Invoices).require(invoice.id);
    next = subs.require(old.id);
    if (deferItems && after.status !== 'paid') {
      next = saveSubscription(ctx, {
        ...next,
        pending_update: {
          billing_cycle_anchor: resetPeriod ? now : null,
          cancel_at_period_end: null,
          discount: null,
          discounts: null,
          expires_at: now + INCOMPLETE_EXPIRY,
          metadata: null,
          subscription_items: afterItems as unknown as Stripe.SubscriptionItem[],
          trial_end: null,
          trial_from_plan: null,
        },
      });
      setMeta(ctx, old.id, { pendingItems: afterItems, pendingInvoice: invoice.id });
      scheduleJob(ctx, pendingExpireJob, {
        clock: testClockOf(ctx, next),
        at: now + INCOMPLETE_EXPIRY,
        payload: { subscription: old.id, invoice: invoice.id },
        key: `sub-pending-expire:${old.id}`,
      });
    } else if (deferItems) {
      next = saveSubscription(ctx, { ...next, items: itemsList(old.id, afterItems) });
    } else if (after.status === 'open' && collectionMethod === 'charge_automatically') {
      next = saveSubscription(ctx, { ...next, status: 'past_due' });
    } else if (after.status === 'paid' && (next.status === 'past_due' || next.status === 'unpaid')) {
      if (!hasUnpaidInvoices(ctx, next.id)) next = saveSubscription(ctx, { ...next, status: 'active' });
    }
  }
  setMeta(ctx, old.id, { busy: false });
  next = subs.require(old.id);
  const previous = diff(old, next);
  if (Object.keys(previous).length)
    emitEvent(ctx, 'customer.subscription.updated', next, { previousAttributes: previous });
  if (next.pause_collection && !old.pause_collection) {
    // Nothing else to announce; renewals follow the pause behaviour.
  }
  scheduleLifecycle(ctx, next);
  return next;
}

function anchorType(
  value: UpdateSubscriptionParams['billing_cycle_anchor'],
): 'now' | 'unchanged' | undefined {
  return typeof value === 'object' ? value.type : value;
}

function applyCancellationDetails(
  old: SubscriptionRow,
  details: UpdateSubscriptionParams['cancellation_details'],
): Stripe.Subscription.CancellationDetails | null {
  if (!details) return old.cancellation_details;
  const base = old.cancellation_details ?? {
    comment: null,
    feedback: null,
    feedback_option: null,
    reason: null,
  };
  return {
    ...base,
    comment: details.comment === undefined ? base.comment : details.comment,
    feedback: details.feedback === undefined ? base.feedback : details.feedback,
  };
}

function hasUnpaidInvoices(ctx: Emulator, subscription: string): boolean {
  return (
    ctx.store
      .of(Invoices)
      .sorted(
        (inv) =>
          inv.parent?.subscription_details?.subscription === subscription &&
          inv.status === 'open' &&
          inv.attempted &&
          inv.collection_method === 'charge_automatically',
      ).length > 0
  );
}

// ---------------------------------------------------------------------------------------------
// Cancel, pause, resume

export interface CancelOptions {
  invoiceNow?: boolean;
  prorate?: boolean;
  reason: Stripe.Subscription.CancellationDetails.Reason | null;
  comment?: string | null;
  feedback?: Stripe.Subscription.CancellationDetails.Feedback | null;
  /** Called by a schedule that is itself being canceled (don't cancel it again). */
  fromSchedule?: boolean;
}

export function cancelSubscription(
  ctx: Emulator,
  sub: SubscriptionRow,
  opts: CancelOptions,
): SubscriptionRow {
  if (ENDED.has(sub.status)) {
    throw invalidRequest(`This subscription is already ${sub.status}.`);
  }
  const customer = ctx.store.of(Customers).get(sub.customer as string);
  const now = nowFor(ctx, sub);
  const period = currentPeriod(sub);
  if (
    customer &&
    opts.prorate &&
    !['trialing', 'incomplete', 'paused'].includes(sub.status) &&
    now < period.end
  ) {
    for (const input of prorationItems(ctx, sub, sub.items.data, [], now, period, { creditsOnly: true })) {
      insertInvoiceItem(ctx, buildInvoiceItem(ctx, { ...input, customer }));
    }
  }
  let latestInvoice = sub.latest_invoice;
  if (customer && opts.invoiceNow) {
    const pending = pendingInvoiceItems(ctx, customer.id, sub.id, { subscriptionOnly: true });
    const usage = usageLines(ctx, sub, sub.items.data, { start: period.start, end: now });
    if (pending.length || usage.some((l) => l.amount !== 0)) {
      const invoice = createInvoice(ctx, {
        customer,
        currency: sub.currency,
        subscription: sub,
        billingReason: 'subscription_cycle',
        collectionMethod: sub.collection_method,
        daysUntilDue: sub.days_until_due,
        autoAdvance: true,
        discounts: sub.discounts
          .map((d) => (typeof d === 'string' ? d : d.id))
          .filter((d) => discountActive(ctx, d, now)),
        lines: usage,
        items: pending,
        periodStart: period.start,
        periodEnd: now,
        created: now,
      });
      latestInvoice = invoice.id;
      const finalized = finalizeInvoice(ctx, invoice);
      collectInvoice(ctx, finalized);
    }
  }
  // A first invoice nobody will pay any more.
  if (sub.status === 'incomplete') {
    const first = ctx.store.of(Invoices).get(meta(ctx, sub.id).firstInvoice ?? '');
    if (first?.status === 'open') voidInvoice(ctx, first);
  }
  ctx.scheduler.cancelWhere(
    (job) => (job.payload as { subscription?: string } | null)?.subscription === sub.id,
  );
  const current = ctx.store.of(Subscriptions).require(sub.id);
  const next = saveSubscription(ctx, {
    ...current,
    status: 'canceled',
    canceled_at: now,
    ended_at: now,
    latest_invoice: latestInvoice,
    cancellation_details: {
      comment: opts.comment ?? current.cancellation_details?.comment ?? null,
      feedback: opts.feedback ?? current.cancellation_details?.feedback ?? null,
      feedback_option: current.cancellation_details?.feedback_option ?? null,
      reason: opts.reason,
    },
  });
  if (!opts.fromSchedule && typeof next.schedule === 'string')
    scheduleCanceledWithSubscription(ctx, next.schedule);
  emitEvent(ctx, 'customer.subscription.deleted', ctx.store.of(Subscriptions).require(sub.id));
  return ctx.store.of(Subscriptions).require(sub.id);
}

export function pauseSubscription(
  ctx: Emulator,
  sub: SubscriptionRow,
  reason: Stripe.Subscription.StatusDetails.Paused.Subscription.Type,
  /** The state `previous_attributes` compare with (defaults to `sub`). */
  before: SubscriptionRow = sub,
): SubscriptionRow {
  const now = nowFor(ctx, sub);
  const next = saveSubscription(ctx, {
    ...sub,
    status: 'paused',
    status_details: {
      paused: { subscription: { type: reason }, transitioned_at: now, type: 'subscription' },
    },
  });
  ctx.scheduler.cancelWhere(
    (job) => (job.payload as { subscription?: string } | null)?.subscription === sub.id,
  );
  emitEvent(ctx, 'customer.subscription.paused', next);
  emitEvent(ctx, 'customer.subscription.updated', next, { previousAttributes: diff(before, next) });
  return next;
}

export const resumeParams = {
  billing_cycle_anchor: p.enum(['now', 'unchanged']),
  payment_behavior: p.enum(['resume_on_payment_attempt', 'resume_on_payment_success']),
  proration_behavior: p.enum(['always_invoice', 'create_prorations', 'none']),
  proration_date: p.timestamp(),
};

export function resumeSubscription(
  ctx: Emulator,
  sub: SubscriptionRow,
  params: { billing_cycle_anchor?: 'now' | 'unchanged'; payment_behavior?: string },
): SubscriptionRow {
  if (sub.status !== 'paused') {
    throw invalidRequest('Only a paused subscription can be resumed.', undefined, 'subscription_not_paused');
  }
  const customer = ctx.store.of(Customers).require(sub.customer as string);
  const now = nowFor(ctx, sub);
  const recurrence = subscriptionRecurrence(sub);
  const period =
    params.billing_cycle_anchor === 'unchanged'
      ? { start: now, end: nextBoundary(sub.billing_cycle_anchor, recurrence, now) }
      : { start: now, end: addIntervals(now, recurrence, 1) };
  setMeta(ctx, sub.id, { busy: true });
  const invoiceId = ctx.store.of(Invoices).newId();
  const { status_details: _paused, ...rest } = sub;
  let next = saveSubscription(ctx, {
    ...withPeriod(rest as SubscriptionRow, period),
    status: 'active',
    billing_cycle_anchor: params.billing_cycle_anchor === 'unchanged' ? sub.billing_cycle_anchor : now,
    latest_invoice: invoiceId,
  });
  const invoice = createInvoice(
    ctx,
    {
      customer,
      currency: sub.currency,
      subscription: next,
      billingReason: 'subscription_cycle',
      collectionMethod: sub.collection_method,
      daysUntilDue: sub.days_until_due,
      autoAdvance: true,
      discounts: sub.discounts
        .map((d) => (typeof d === 'string' ? d : d.id))
        .filter((d) => discountActive(ctx, d, now)),
      lines: periodLines(ctx, next, next.items.data, period),
      items: pendingInvoiceItems(ctx, customer.id, sub.id),
      periodStart: now,
      periodEnd: now,
      created: now,
    },
    invoiceId,
  );
  const finalized = finalizeInvoice(ctx, invoice);
  collectInvoice(ctx, finalized);
  const after = ctx.store.of(Invoices).require(invoiceId);
  next = ctx.store.of(Subscriptions).require(sub.id);
  if (after.status === 'open' && sub.collection_method === 'charge_automatically') {
    next = saveSubscription(ctx, { ...next, status: 'past_due' });
  }
  setMeta(ctx, sub.id, { busy: false });
  emitEvent(ctx, 'customer.subscription.resumed', next);
  emitEvent(ctx, 'customer.subscription.updated', next, { previousAttributes: diff(sub, next) });
  scheduleLifecycle(ctx, next);
  return next;
}

// ---------------------------------------------------------------------------------------------
// The engine: renewals and other timed transitions

/** (Re)schedule the jobs that move this subscription through time. */
export function scheduleLifecycle(ctx: Emulator, sub: SubscriptionRow): void {
  const clock = testClockOf(ctx, sub);
  for (const kind of ['cycle', 'trial-will-end', 'cancel-at', 'resume-collection', 'upcoming']) {
    ctx.scheduler.cancel(`sub-${kind}:${sub.id}`);
  }
  if (ENDED.has(sub.status) || sub.status === 'incomplete' || sub.status === 'paused') return;
  const now = nowFor(ctx, sub);
  const period = currentPeriod(sub);
  scheduleJob(ctx, cycleJob, {
    clock,
    at: period.end,
    payload: { subscription: sub.id, at: period.end },
    key: `sub-cycle:${sub.id}`,
  });
  const upcomingAt = period.end - UPCOMING_AHEAD;
  if (sub.collection_method === 'charge_automatically' && !sub.cancel_at_period_end && upcomingAt > now) {
    scheduleJob(ctx, upcomingJob, {
      clock,
      at: upcomingAt,
      payload: { subscription: sub.id, at: period.end },
      key: `sub-upcoming:${sub.id}`,
    });
  }
  if (sub.cancel_at !== null && sub.cancel_at < period.end) {
    scheduleJob(ctx, cancelAtJob, {
      clock,
      at: sub.cancel_at,
      payload: { subscription: sub.id, at: sub.cancel_at },
      key: `sub-cancel-at:${sub.id}`,
    });
  }
  if (
    sub.status === 'trialing' &&
    sub.trial_end !== null &&
    meta(ctx, sub.id).trialWillEndSentFor !== sub.trial_end
  ) {
    const at = sub.trial_end - TRIAL_WILL_END_AHEAD;
    if (at <= now) announceTrialEnd(ctx, sub);
    else {
      scheduleJob(ctx, trialWillEndJob, {
        clock,
        at,
        payload: { subscription: sub.id, trialEnd: sub.trial_end },
        key: `sub-trial-will-end:${sub.id}`,
      });
    }
  }
  if (sub.pause_collection?.resumes_at) {
    scheduleJob(ctx, resumeCollectionJob, {
      clock,
      at: sub.pause_collection.resumes_at,
      payload: { subscription: sub.id },
      key: `sub-resume-collection:${sub.id}`,
    });
  }
}

function announceTrialEnd(ctx: Emulator, sub: SubscriptionRow): void {
  setMeta(ctx, sub.id, { trialWillEndSentFor: sub.trial_end ?? undefined });
  emitEvent(ctx, 'customer.subscription.trial_will_end', sub);
}

/** The period boundary: phases, cancellation, trial end, then the renewal invoice. */
export function renewSubscription(ctx: Emulator, start: SubscriptionRow, at: number): void {
  let sub = applyDueSchedulePhases(ctx, start, at);
  if (!sub || ENDED.has(sub.status)) return;
  if (sub.cancel_at_period_end || (sub.cancel_at !== null && sub.cancel_at <= at)) {
    cancelSubscription(ctx, sub, { reason: 'cancellation_requested' });
    return;
  }
  const customer = ctx.store.of(Customers).get(sub.customer as string);
  if (!customer) return;
  const trialEnding = sub.status === 'trialing';
  if (
    trialEnding &&
    !subscriptionPaymentMethod(ctx, sub) &&
    sub.collection_method === 'charge_automatically'
  ) {
    const behaviour = sub.trial_settings?.end_behavior.missing_payment_method ?? 'create_invoice';
    if (behaviour === 'cancel') {
      cancelSubscription(ctx, sub, { reason: 'cancellation_requested' });
      return;
    }
    if (behaviour === 'pause') {
      pauseSubscription(ctx, sub, 'trial_end_without_payment_method');
      return;
    }
  }
  const recurrence = subscriptionRecurrence(sub);
  const previous = currentPeriod(sub);
  const anchor =
    trialEnding && sub.trial_settings?.end_behavior.billing_cycle_anchor !== 'unchanged'
      ? at
      : sub.billing_cycle_anchor;
  const end = nextBoundary(anchor, recurrence, at);
  const period = { start: at, end: sub.cancel_at !== null && sub.cancel_at < end ? sub.cancel_at : end };
  const invoiceId = ctx.store.of(Invoices).newId();
  const discounts = sub.discounts
    .map((d) => (typeof d === 'string' ? d : d.id))
    .filter((d) => discountActive(ctx, d, at));
  const before = start;
  const paused = sub.pause_collection;
  sub = saveSubscription(ctx, {
    ...withPeriod(sub, period),
    billing_cycle_anchor: anchor,
    status: trialEnding ? 'active' : sub.status,
    latest_invoice: invoiceId,
    discounts,
  });
  emitEvent(ctx, 'customer.subscription.updated', sub, { previousAttributes: diff(before, sub) });
  const lines = [
    ...(trialEnding ? [] : usageLines(ctx, sub, sub.items.data, previous)),
    ...periodLines(ctx, sub, sub.items.data, period).map((line) =>
      period.end === end
        ? line
        : { ...line, amount: prorate(line.amount, period.end - period.start, end - period.start) },
    ),
  ];
  const invoice = createInvoice(
    ctx,
    {
      customer,
      currency: sub.currency,
      subscription: sub,
      billingReason: 'subscription_cycle',
      collectionMethod: sub.collection_method,
      daysUntilDue: sub.days_until_due,
      autoAdvance: sub.status !== 'unpaid' && paused?.behavior !== 'keep_as_draft',
      description: sub.invoice_settings.description ?? null,
      footer: sub.invoice_settings.footer ?? null,
      discounts,
      lines,
      items: pendingInvoiceItems(ctx, customer.id, sub.id),
      periodStart: previous.start,
      periodEnd: at,
      created: at,
    },
    invoiceId,
  );
  if (paused?.behavior === 'void') voidInvoice(ctx, finalizeInvoice(ctx, invoice, { autoAdvance: false }));
  else if (paused?.behavior === 'mark_uncollectible') {
    const finalized = finalizeInvoice(ctx, invoice, { autoAdvance: false });
    if (finalized.status === 'open') markUncollectible(ctx, finalized);
  }
  scheduleLifecycle(ctx, ctx.store.of(Subscriptions).require(sub.id));
}

export const cycleJob = defineJob<{ subscription: string; at: number }>(
  'billing.subscription_cycle',
  (ctx, p) => {
    const sub = ctx.store.of(Subscriptions).get(p.subscription);
    if (!sub || !['active', 'trialing', 'past_due', 'unpaid'].includes(sub.status)) return;
    if (currentPeriod(sub).end !== p.at) return;
    renewSubscription(ctx, sub, p.at);
  },
);

export const cancelAtJob = defineJob<{ subscription: string; at: number }>(
  'billing.subscription_cancel_at',
  (ctx, p) => {
    const sub = ctx.store.of(Subscriptions).get(p.subscription);
    if (!sub || ENDED.has(sub.status) || sub.cancel_at !== p.at) return;
    cancelSubscription(ctx, sub, { reason: 'cancellation_requested' });
  },
);

export const trialWillEndJob = defineJob<{ subscription: string; trialEnd: number }>(
  'billing.subscription_trial_will_end',
  (ctx, p) => {
    const sub = ctx.store.of(Subscriptions).get(p.subscription);
    if (sub?.status !== 'trialing' || sub.trial_end !== p.trialEnd) return;
    if (meta(ctx, sub.id).trialWillEndSentFor === p.trialEnd) return;
    announceTrialEnd(ctx, sub);
  },
);

export const expireJob = defineJob<{ subscription: string }>(
  'billing.subscription_incomplete_expire',
  (ctx, p) => {
    const sub = ctx.store.of(Subscriptions).get(p.subscription);
    if (sub?.status !== 'incomplete') return;
    const now = nowFor(ctx, sub);
    const first = ctx.store.of(Invoices).get(meta(ctx, sub.id).firstInvoice ?? '');
    if (first?.status === 'open') voidInvoice(ctx, first);
    const current = ctx.store.of(Subscriptions).require(sub.id);
    const next = saveSubscription(ctx, {
      ...current,
      status: 'incomplete_expired',
      canceled_at: now,
      ended_at: now,
    });
    ctx.scheduler.cancelWhere(
      (job) => (job.payload as { subscription?: string } | null)?.subscription === sub.id,
    );
    emitEvent(ctx, 'customer.subscription.updated', next, { previousAttributes: diff(sub, next) });
  },
);

export const resumeCollectionJob = defineJob<{ subscription: string }>(
  'billing.subscription_resume_collection',
  (ctx, p) => {
    const sub = ctx.store.of(Subscriptions).get(p.subscription);
    if (!sub?.pause_collection) return;
    const next = saveSubscription(ctx, { ...sub, pause_collection: null });
    emitEvent(ctx, 'customer.subscription.updated', next, { previousAttributes: diff(sub, next) });
  },
);

export const pendingExpireJob = defineJob<{ subscription: string; invoice: string }>(
  'billing.subscription_pending_update_expire',
  (ctx, p) => {
    const sub = ctx.store.of(Subscriptions).get(p.subscription);
    if (!sub?.pending_update || meta(ctx, sub.id).pendingInvoice !== p.invoice) return;
    const next = saveSubscription(ctx, { ...sub, pending_update: null });
    setMeta(ctx, sub.id, { pendingItems: undefined, pendingInvoice: undefined });
    const invoice = ctx.store.of(Invoices).get(p.invoice);
    if (invoice?.status === 'open') voidInvoice(ctx, invoice);
    emitEvent(ctx, 'customer.subscription.pending_update_expired', next);
    emitEvent(ctx, 'customer.subscription.updated', next, { previousAttributes: diff(sub, next) });
  },
);

// ---------------------------------------------------------------------------------------------
// Reactions to invoice outcomes (hook listeners, registered by the subscriptions module)

function subscriptionOf(ctx: Emulator, invoice: InvoiceRow): SubscriptionRow | undefined {
  const id = invoice.parent?.subscription_details?.subscription;
  return typeof id === 'string' ? ctx.store.of(Subscriptions).get(id) : undefined;
}

function changeStatus(ctx: Emulator, sub: SubscriptionRow, patch: Partial<SubscriptionRow>): SubscriptionRow {
  const next = saveSubscription(ctx, { ...sub, ...patch });
  const previous = diff(sub, next);
  if (Object.keys(previous).length)
    emitEvent(ctx, 'customer.subscription.updated', next, { previousAttributes: previous });
  return next;
}

export function onInvoicePaid(ctx: Emulator, invoice: InvoiceRow): void {
  const sub = subscriptionOf(ctx, invoice);
  if (!sub || meta(ctx, sub.id).busy || ENDED.has(sub.status)) return;
  const patch: Partial<SubscriptionRow> = {};
  const m = meta(ctx, sub.id);
  if (
    sub.payment_settings?.save_default_payment_method === 'on_subscription' &&
    !sub.default_payment_method
  ) {
    const piId = ctx.store.of(Invoices).meta(invoice.id)?.paymentIntent;
    const pm = piId ? ctx.store.of(PaymentIntents).get(piId)?.payment_method : null;
    if (typeof pm === 'string') patch.default_payment_method = pm;
  }
  if (m.pendingInvoice === invoice.id && m.pendingItems) {
    ctx.scheduler.cancel(`sub-pending-expire:${sub.id}`);
    setMeta(ctx, sub.id, { pendingItems: undefined, pendingInvoice: undefined });
    const applied = saveSubscription(ctx, {
      ...sub,
      ...patch,
      items: itemsList(sub.id, m.pendingItems),
      pending_update: null,
    });
    emitEvent(ctx, 'customer.subscription.pending_update_applied', applied);
    emitEvent(ctx, 'customer.subscription.updated', applied, { previousAttributes: diff(sub, applied) });
    scheduleLifecycle(ctx, applied);
    return;
  }
  if (sub.status === 'incomplete' && m.firstInvoice === invoice.id) {
    ctx.scheduler.cancel(`sub-expire:${sub.id}`);
    const next = changeStatus(ctx, sub, {
      ...patch,
      status: sub.trial_end && sub.trial_end > nowFor(ctx, sub) ? 'trialing' : 'active',
    });
    scheduleLifecycle(ctx, next);
    return;
  }
  if ((sub.status === 'past_due' || sub.status === 'unpaid') && !hasUnpaidInvoices(ctx, sub.id)) {
    changeStatus(ctx, sub, { ...patch, status: 'active' });
    return;
  }
  if (Object.keys(patch).length) changeStatus(ctx, sub, patch);
}

export function onInvoicePaymentFailed(ctx: Emulator, invoice: InvoiceRow): void {
  const sub = subscriptionOf(ctx, invoice);
  if (!sub || meta(ctx, sub.id).busy || ENDED.has(sub.status)) return;
  // The first payment of a new subscription: it stays incomplete (and expires).
  if (meta(ctx, sub.id).firstInvoice === invoice.id) return;
  if (sub.status === 'active' || sub.status === 'trialing') changeStatus(ctx, sub, { status: 'past_due' });
}

export function onRetriesExhausted(ctx: Emulator, invoice: InvoiceRow): void {
  const sub = subscriptionOf(ctx, invoice);
  if (!sub || ENDED.has(sub.status)) return;
  const end = ctx.settings.retrySchedule.end;
  if (end === 'canceled') cancelSubscription(ctx, sub, { reason: 'payment_failed' });
  else if (end === 'unpaid' && sub.status !== 'unpaid') changeStatus(ctx, sub, { status: 'unpaid' });
}

export function onInvoiceOverdue(ctx: Emulator, invoice: InvoiceRow): void {
  const sub = subscriptionOf(ctx, invoice);
  if (!sub || meta(ctx, sub.id).busy) return;
  if (sub.status === 'active') changeStatus(ctx, sub, { status: 'past_due' });
}

/** The subscription's pending_setup_intent succeeded: the card is collected. */
export function onSetupIntentEvent(
  ctx: Emulator,
  event: { type: string; data: { object: Record<string, unknown> } },
): void {
  if (event.type !== 'setup_intent.succeeded') return;
  const si = event.data.object as unknown as Stripe.SetupIntent;
  const owner = ctx.store.of(SetupIntents).meta(si.id)?.owner;
  if (owner?.object !== 'subscription') return;
  const sub = ctx.store.of(Subscriptions).get(owner.id);
  if (!sub || sub.pending_setup_intent !== si.id) return;
  const pm = typeof si.payment_method === 'string' ? si.payment_method : null;
  changeStatus(ctx, sub, {
    pending_setup_intent: null,
    default_payment_method:
      sub.payment_settings?.save_default_payment_method === 'on_subscription' && pm
        ? pm
        : sub.default_payment_method,
  });
}
