/**
 * Subscription schedules: phases of items over time for one subscription. A phase boundary
 * that falls on the subscription's period end is applied by the renewal itself (no proration;
 * the renewal invoice bills the new phase); a boundary inside a period applies the phase as an
 * update with the phase's proration_behavior. When the last phase ends the schedule completes
 * and, per `end_behavior`, releases the subscription (it carries on) or cancels it.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { diff, emitEvent, nowFor, testClockOf } from '../../core/events.ts';
import { defineJob, scheduleJob } from '../../core/scheduler.ts';
import { invalidRequest, parameterMissing } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { type PriceRow, Prices } from '../catalog/tables.ts';
import { mergeMetadata } from '../shared.ts';
import {
  buildItem,
  currentPeriod,
  type ItemSpec,
  itemPriceDataParams,
  itemsList,
  resolveItemPrice,
  saveSubscription,
  validateItemSet,
} from './subscription-model.ts';
import { cancelSubscription, updateSubscription } from './subscription-ops.ts';
import { type ScheduleRow, type SubscriptionRow, SubscriptionSchedules, Subscriptions } from './tables.ts';
import { addIntervals, type Interval, recurrenceOf } from './time-money.ts';

export const phaseParams = p.object({
  items: p.required(
    p.array(
      p.object({
        price: p.string(),
        plan: p.string(),
        price_data: itemPriceDataParams,
        quantity: p.int({ min: 0 }),
        metadata: p.metadata(),
        discounts: p.any(),
        tax_rates: p.any(),
        billing_thresholds: p.any(),
      }),
      { max: 20 },
    ),
  ),
  start_date: p.timestamp({ allowNow: true }),
  end_date: p.timestamp({ allowNow: true }),
  duration: p.object({
    interval: p.required(p.enum(['day', 'week', 'month', 'year'])),
    interval_count: p.int({ min: 1 }),
  }),
  iterations: p.int({ min: 1 }),
  proration_behavior: p.enum(['always_invoice', 'create_prorations', 'none']),
  trial_end: p.timestamp({ allowNow: true }),
  trial: p.bool(),
  metadata: p.metadata(),
  description: p.emptyable(p.string()),
  collection_method: p.enum(['charge_automatically', 'send_invoice']),
  default_payment_method: p.string(),
  currency: p.currency(),
  add_invoice_items: p.any(),
  application_fee_percent: p.any(),
  automatic_tax: p.any(),
  billing_cycle_anchor: p.enum(['automatic', 'phase_start']),
  billing_thresholds: p.any(),
  default_tax_rates: p.any(),
  discounts: p.any(),
  invoice_settings: p.any(),
  on_behalf_of: p.any(),
  transfer_data: p.any(),
});

export type PhaseParam = NonNullable<ReturnType<typeof phaseParams.parse>>;

/** Phases from parameters: contiguous, each with its end (end_date, duration, or one cycle). */
export function normalizePhases(
  ctx: Emulator,
  phases: PhaseParam[],
  defaultStart: number,
  now: number,
  param = 'phases',
): ScheduleRow['phases'] {
  if (!phases.length) throw parameterMissing(param);
  const out: ScheduleRow['phases'] = [];
  let start =
    phases[0]!.start_date === undefined
      ? defaultStart
      : phases[0]!.start_date === 'now'
        ? now
        : phases[0]!.start_date;
  phases.forEach((phase, i) => {
    const where = `${param}[${i}]`;
    if (i > 0 && phase.start_date !== undefined) {
      const given = phase.start_date === 'now' ? now : phase.start_date;
      if (given !== start) {
        throw invalidRequest('Each phase must start when the previous phase ends.', `${where}[start_date]`);
      }
    }
    const specs: ItemSpec[] = phase.items.map((item, j) => {
      const price = resolveItemPrice(ctx, item, `${where}[items][${j}]`);
      if (!price) throw parameterMissing(`${where}[items][${j}][price]`);
      return { id: null, price, quantity: item.quantity ?? 1, metadata: mergeMetadata({}, item.metadata) };
    });
    validateItemSet(specs, `${where}[items]`);
    const recurrence = recurrenceOf(specs[0]!.price);
    let end: number;
    if (phase.end_date !== undefined) end = phase.end_date === 'now' ? now : phase.end_date;
    else if (phase.duration) {
      end = addIntervals(
        start,
        { interval: phase.duration.interval as Interval, interval_count: phase.duration.interval_count ?? 1 },
        1,
      );
    } else if (phase.iterations) end = addIntervals(start, recurrence, phase.iterations);
    else if (i === phases.length - 1) end = addIntervals(start, recurrence, 1);
    else
      throw invalidRequest('Every phase but the last needs an end_date or a duration.', `${where}[end_date]`);
    if (end <= start) throw invalidRequest('A phase must end after it starts.', `${where}[end_date]`);
    out.push({
      add_invoice_items: [],
      application_fee_percent: null,
      billing_cycle_anchor: phase.billing_cycle_anchor ?? null,
      billing_thresholds: null,
      collection_method: phase.collection_method ?? null,
      currency: specs[0]!.price.currency,
      default_payment_method: phase.default_payment_method ?? null,
      default_tax_rates: [],
      description: phase.description ?? null,
      discounts: [],
      end_date: end,
      invoice_settings: null,
      items: specs.map((s) => ({
        billing_thresholds: null,
        discounts: [],
        metadata: s.metadata,
        plan: s.price.id,
        price: s.price.id,
        quantity: s.quantity,
        tax_rates: [],
      })),
      metadata: mergeMetadata({}, phase.metadata),
      on_behalf_of: null,
      proration_behavior: phase.proration_behavior ?? 'create_prorations',
      start_date: start,
      transfer_data: null,
      trial_end: typeof phase.trial_end === 'number' ? phase.trial_end : null,
    });
    start = end;
  });
  return out;
}

export function phaseAt(schedule: ScheduleRow, at: number): number {
  return schedule.phases.findIndex((ph) => ph.start_date <= at && at < ph.end_date);
}

export function currentPhaseOf(schedule: ScheduleRow, at: number): ScheduleRow['current_phase'] {
  const i = phaseAt(schedule, at);
  return i === -1
    ? null
    : { start_date: schedule.phases[i]!.start_date, end_date: schedule.phases[i]!.end_date };
}

/** Item rows for a phase, keeping the ids of items whose price stays. */
export function itemsForPhase(
  ctx: Emulator,
  sub: SubscriptionRow,
  phase: ScheduleRow['phases'][number],
  period: { start: number; end: number },
  now: number,
) {
  const used = new Set<string>();
  return phase.items.map((item) => {
    const price = ctx.store.of(Prices).require(item.price as string) as PriceRow;
    const existing = sub.items.data.find((i) => i.price.id === price.id && !used.has(i.id));
    if (existing) used.add(existing.id);
    return buildItem(
      ctx,
      sub.id,
      { id: existing?.id ?? null, price, quantity: item.quantity ?? 1, metadata: item.metadata ?? {} },
      period,
      now,
      existing,
    );
  });
}

function sameItems(
  a: { price: { id: string }; quantity?: number }[],
  b: { price: unknown; quantity?: number }[],
): boolean {
  const key = (items: { price: unknown; quantity?: number }[]) =>
    JSON.stringify(
      items
        .map((i) => [typeof i.price === 'string' ? i.price : (i.price as { id: string }).id, i.quantity ?? 1])
        .sort(),
    );
  return key(a) === key(b as never);
}

function saveSchedule(
  ctx: Emulator,
  next: ScheduleRow,
  old: ScheduleRow | undefined,
  type?: Stripe.Event.Type,
): ScheduleRow {
  const table = ctx.store.of(SubscriptionSchedules);
  table.replace(next);
  if (type) emitEvent(ctx, type, next, old ? { previousAttributes: diff(old, next) } : {});
  return next;
}

/** Finish the schedule after its last phase: release or cancel the subscription. */
function completeSchedule(
  ctx: Emulator,
  schedule: ScheduleRow,
  sub: SubscriptionRow,
  at: number,
): SubscriptionRow {
  ctx.scheduler.cancel(`sched-phase:${schedule.id}`);
  ctx.scheduler.cancel(`sched-expiring:${schedule.id}`);
  saveSchedule(
    ctx,
    { ...schedule, status: 'completed', completed_at: at, current_phase: null },
    schedule,
    'subscription_schedule.completed',
  );
  if (schedule.end_behavior === 'cancel') {
    return cancelSubscription(
      ctx,
      { ...sub, schedule: null },
      { reason: 'cancellation_requested', fromSchedule: true },
    );
  }
  return saveSubscription(ctx, { ...sub, schedule: null });
}

/**
 * Apply every phase change due at `at` to the subscription (called by the renewal at a period
 * end, before it invoices). Returns the subscription as it is afterwards.
 */
export function applyDueSchedulePhases(
  ctx: Emulator,
  sub: SubscriptionRow,
  at: number,
): SubscriptionRow | undefined {
  if (typeof sub.schedule !== 'string') return sub;
  const schedule = ctx.store.of(SubscriptionSchedules).get(sub.schedule);
  if (schedule?.status !== 'active') return sub;
  const last = schedule.phases[schedule.phases.length - 1]!;
  if (at >= last.end_date) return completeSchedule(ctx, schedule, sub, at);
  const index = phaseAt(schedule, at);
  if (index === -1) return sub;
  const phase = schedule.phases[index]!;
  let next = sub;
  if (!sameItems(sub.items.data, phase.items)) {
    const period = currentPeriod(sub);
    next = saveSubscription(ctx, {
      ...sub,
      items: itemsList(sub.id, itemsForPhase(ctx, sub, phase, period, at)),
    });
  }
  const current = currentPhaseOf(schedule, at);
  if (JSON.stringify(current) !== JSON.stringify(schedule.current_phase)) {
    saveSchedule(ctx, { ...schedule, current_phase: current }, schedule, 'subscription_schedule.updated');
  }
  scheduleNextPhase(ctx, ctx.store.of(SubscriptionSchedules).require(schedule.id), at);
  return next;
}

const EXPIRING_AHEAD = 7 * 86_400;

/** The job for the next phase boundary after `after` (and `expiring` 7 days before the end). */
export function scheduleNextPhase(ctx: Emulator, schedule: ScheduleRow, after: number): void {
  ctx.scheduler.cancel(`sched-phase:${schedule.id}`);
  ctx.scheduler.cancel(`sched-expiring:${schedule.id}`);
  if (schedule.status !== 'active' && schedule.status !== 'not_started') return;
  const end = schedule.phases[schedule.phases.length - 1]!.end_date;
  if (end - EXPIRING_AHEAD > after) {
    scheduleJob(ctx, expiringJob, {
      clock: testClockOf(ctx, schedule),
      at: end - EXPIRING_AHEAD,
      payload: { schedule: schedule.id, end },
      key: `sched-expiring:${schedule.id}`,
    });
  }
  const boundary = schedule.phases.map((ph) => ph.end_date).find((t) => t > after);
  const at = schedule.status === 'not_started' ? schedule.phases[0]!.start_date : boundary;
  if (at === undefined) return;
  scheduleJob(ctx, phaseJob, {
    clock: testClockOf(ctx, schedule),
    at,
    payload: { schedule: schedule.id, at },
    key: `sched-phase:${schedule.id}`,
  });
}

export const expiringJob = defineJob<{ schedule: string; end: number }>(
  'billing.schedule_expiring',
  (ctx, p) => {
    const schedule = ctx.store.of(SubscriptionSchedules).get(p.schedule);
    if (!schedule || !['active', 'not_started'].includes(schedule.status)) return;
    if (schedule.phases[schedule.phases.length - 1]!.end_date !== p.end) return;
    emitEvent(ctx, 'subscription_schedule.expiring', schedule);
  },
);

/** Starting a not_started schedule is done by the schedules module (it creates the subscription). */
export const scheduleStarters: { start?: (ctx: Emulator, schedule: ScheduleRow) => void } = {};

export const phaseJob = defineJob<{ schedule: string; at: number }>('billing.schedule_phase', (ctx, p) => {
  const schedule = ctx.store.of(SubscriptionSchedules).get(p.schedule);
  if (!schedule) return;
  if (schedule.status === 'not_started') {
    scheduleStarters.start?.(ctx, schedule);
    return;
  }
  if (schedule.status !== 'active' || typeof schedule.subscription !== 'string') return;
  const sub = ctx.store.of(Subscriptions).get(schedule.subscription);
  if (!sub || sub.status === 'canceled' || sub.status === 'incomplete_expired') return;
  // On a period end the renewal applies the phase (and bills it); nothing to do here.
  if (currentPeriod(sub).end === p.at) return;
  const last = schedule.phases[schedule.phases.length - 1]!;
  if (p.at >= last.end_date) {
    const before = sub;
    const after = completeSchedule(ctx, schedule, sub, p.at);
    if (after.status !== 'canceled') {
      emitEvent(ctx, 'customer.subscription.updated', after, { previousAttributes: diff(before, after) });
    }
    return;
  }
  const index = phaseAt(schedule, p.at);
  if (index === -1) return;
  const phase = schedule.phases[index]!;
  saveSchedule(
    ctx,
    { ...schedule, current_phase: currentPhaseOf(schedule, p.at) },
    schedule,
    'subscription_schedule.updated',
  );
  if (!sameItems(sub.items.data, phase.items)) {
    // Mid-period: the phase applies like an update, prorated per the phase.
    const items = sub.items.data.map((i) => ({ id: i.id, deleted: true as boolean }));
    const wanted = phase.items.map((item) => {
      const keep = sub.items.data.find((i) => i.price.id === item.price);
      return keep
        ? { id: keep.id, quantity: item.quantity ?? 1 }
        : { price: item.price as string, quantity: item.quantity ?? 1 };
    });
    const kept = new Set(wanted.map((w) => ('id' in w ? w.id : '')));
    updateSubscription(ctx, sub, {
      items: [...items.filter((i) => !kept.has(i.id)), ...wanted],
      proration_behavior: phase.proration_behavior as 'create_prorations' | 'always_invoice' | 'none',
    });
  }
  scheduleNextPhase(ctx, ctx.store.of(SubscriptionSchedules).require(schedule.id), p.at);
});

/** The subscription was canceled directly: its schedule is canceled with it. */
export function scheduleCanceledWithSubscription(ctx: Emulator, scheduleId: string): void {
  const schedule = ctx.store.of(SubscriptionSchedules).get(scheduleId);
  if (!schedule || (schedule.status !== 'active' && schedule.status !== 'not_started')) return;
  ctx.scheduler.cancel(`sched-phase:${schedule.id}`);
  ctx.scheduler.cancel(`sched-expiring:${schedule.id}`);
  saveSchedule(
    ctx,
    { ...schedule, status: 'canceled', canceled_at: nowFor(ctx, schedule), current_phase: null },
    schedule,
    'subscription_schedule.canceled',
  );
}
