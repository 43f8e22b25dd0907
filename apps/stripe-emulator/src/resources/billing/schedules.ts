/**
 * /v1/subscription_schedules: create (from_subscription, or customer + phases starting now or
 * later), retrieve, update (phases, end_behavior, metadata, default_settings), list, release,
 * cancel. Phase changes themselves are applied by the engine (schedule-ops.ts).
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { diff, emitEvent, nowFor } from '../../core/events.ts';
import { inRange, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { invalidRequest, parameterMissing } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { Customers } from '../customers/tables.ts';
import { mergeMetadata } from '../shared.ts';
import {
  currentPhaseOf,
  normalizePhases,
  type PhaseParam,
  phaseAt,
  phaseParams,
  scheduleNextPhase,
  scheduleStarters,
} from './schedule-ops.ts';
import { currentPeriod, saveSubscription } from './subscription-model.ts';
import { cancelSubscription, createSubscription, updateSubscription } from './subscription-ops.ts';
import { type ScheduleRow, type SubscriptionRow, SubscriptionSchedules, Subscriptions } from './tables.ts';

const defaultSettingsParams = p.object({
  collection_method: p.enum(['charge_automatically', 'send_invoice']),
  default_payment_method: p.string(),
  description: p.emptyable(p.string()),
  invoice_settings: p.object({
    days_until_due: p.int({ min: 0 }),
    account_tax_ids: p.any(),
    issuer: p.any(),
  }),
  application_fee_percent: p.any(),
  automatic_tax: p.any(),
  billing_cycle_anchor: p.enum(['automatic', 'phase_start']),
  billing_thresholds: p.any(),
  on_behalf_of: p.any(),
  transfer_data: p.any(),
});

type DefaultSettingsParam = NonNullable<ReturnType<typeof defaultSettingsParams.parse>>;

const ACTIVE = new Set(['active', 'not_started']);

function defaultSettings(
  base: ScheduleRow['default_settings'] | null,
  params: DefaultSettingsParam | undefined,
  sub: SubscriptionRow | null,
): ScheduleRow['default_settings'] {
  const old: ScheduleRow['default_settings'] = base ?? {
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: 'automatic',
    billing_thresholds: null,
    collection_method: sub?.collection_method ?? 'charge_automatically',
    default_payment_method: (sub?.default_payment_method as string | null) ?? null,
    description: sub?.description ?? null,
    invoice_settings: {
      account_tax_ids: null,
      custom_fields: null,
      days_until_due: sub?.days_until_due ?? null,
      description: null,
      footer: null,
      issuer: { type: 'self' },
    },
    on_behalf_of: null,
    transfer_data: null,
  };
  if (!params) return old;
  return {
    ...old,
    billing_cycle_anchor: params.billing_cycle_anchor ?? old.billing_cycle_anchor,
    collection_method: params.collection_method ?? old.collection_method,
    default_payment_method: params.default_payment_method ?? old.default_payment_method,
    description: params.description === undefined ? old.description : params.description,
    invoice_settings: {
      ...old.invoice_settings,
      days_until_due: params.invoice_settings?.days_until_due ?? old.invoice_settings.days_until_due,
    },
  };
}

/** Start a schedule's subscription (now, or when a not_started schedule's first phase begins). */
function startSubscription(ctx: Emulator, schedule: ScheduleRow): SubscriptionRow {
  const phase = schedule.phases[0]!;
  const settings = schedule.default_settings;
  const collection = phase.collection_method ?? settings.collection_method ?? 'charge_automatically';
  const sub = createSubscription(
    ctx,
    {
      customer: schedule.customer as string,
      items: phase.items.map((item) => ({
        price: item.price as string,
        quantity: item.quantity,
        metadata: item.metadata ?? undefined,
      })),
      default_payment_method:
        (phase.default_payment_method as string | null) ??
        (settings.default_payment_method as string | null) ??
        undefined,
      collection_method: collection as 'charge_automatically' | 'send_invoice',
      days_until_due:
        collection === 'send_invoice' ? (settings.invoice_settings.days_until_due ?? 30) : undefined,
      trial_end: phase.trial_end ?? undefined,
      metadata: phase.metadata ?? undefined,
    },
    { schedule: schedule.id },
  );
  const now = nowFor(ctx, sub);
  const started = ctx.store.of(SubscriptionSchedules).replace({
    ...ctx.store.of(SubscriptionSchedules).require(schedule.id),
    status: 'active',
    subscription: sub.id,
    current_phase: currentPhaseOf(schedule, now),
  });
  if (schedule.status === 'not_started') {
    emitEvent(ctx, 'subscription_schedule.updated', started, { previousAttributes: diff(schedule, started) });
  }
  scheduleNextPhase(ctx, started, now);
  return sub;
}

function createSchedule(ctx: Emulator, params: ReturnType<typeof createParamsSchema.parse>): ScheduleRow {
  const table = ctx.store.of(SubscriptionSchedules);
  const id = table.newId();
  if (params.from_subscription) {
    if (params.phases?.length) {
      throw invalidRequest('You cannot set `phases` if `from_subscription` is set.', 'phases');
    }
    if (params.customer)
      throw invalidRequest('You cannot set `customer` if `from_subscription` is set.', 'customer');
    const sub = ctx.store.of(Subscriptions).require(params.from_subscription, 'from_subscription');
    if (sub.schedule) {
      throw invalidRequest(
        `You cannot migrate a subscription that is already attached to a schedule: \`${sub.schedule as string}\`.`,
        'from_subscription',
      );
    }
    if (sub.status === 'canceled' || sub.status === 'incomplete_expired') {
      throw invalidRequest('You cannot create a schedule from a canceled subscription.', 'from_subscription');
    }
    const now = nowFor(ctx, sub);
    const period = currentPeriod(sub);
    const schedule: ScheduleRow = {
      ...baseSchedule(id, sub.customer as string, (sub.test_clock as string | null) ?? null, now),
      default_settings: defaultSettings(null, undefined, sub),
      end_behavior: 'release',
      metadata: mergeMetadata({}, params.metadata),
      phases: [
        {
          add_invoice_items: [],
          application_fee_percent: null,
          billing_cycle_anchor: null,
          billing_thresholds: null,
          collection_method: null,
          currency: sub.currency,
          default_payment_method: null,
          default_tax_rates: [],
          description: null,
          discounts: [],
          end_date: period.end,
          invoice_settings: null,
          items: sub.items.data.map((i) => ({
            billing_thresholds: null,
            discounts: [],
            metadata: i.metadata,
            plan: i.price.id,
            price: i.price.id,
            quantity: i.quantity ?? 1,
            tax_rates: [],
          })),
          metadata: {},
          on_behalf_of: null,
          proration_behavior: 'create_prorations',
          start_date: period.start,
          transfer_data: null,
          trial_end: sub.status === 'trialing' ? sub.trial_end : null,
        },
      ],
      status: 'active',
      subscription: sub.id,
      current_phase: { start_date: period.start, end_date: period.end },
    };
    table.insert(schedule);
    emitEvent(ctx, 'subscription_schedule.created', schedule);
    const next = saveSubscription(ctx, { ...sub, schedule: id });
    emitEvent(ctx, 'customer.subscription.updated', next, { previousAttributes: { schedule: null } });
    scheduleNextPhase(ctx, schedule, now);
    return schedule;
  }
  if (!params.customer) throw parameterMissing('customer');
  const customer = ctx.store.of(Customers).require(params.customer, 'customer');
  if (!params.phases?.length) throw parameterMissing('phases');
  const now = nowFor(ctx, customer);
  const start = params.start_date === undefined || params.start_date === 'now' ? now : params.start_date;
  if (start < now) {
    throw invalidRequest('start_date cannot be in the past (the emulator does not backdate).', 'start_date');
  }
  const phases = normalizePhases(ctx, params.phases as PhaseParam[], start, now);
  const schedule: ScheduleRow = {
    ...baseSchedule(id, customer.id, (customer.test_clock as string | null) ?? null, now),
    default_settings: defaultSettings(null, params.default_settings, null),
    end_behavior: params.end_behavior ?? 'release',
    metadata: mergeMetadata({}, params.metadata),
    phases,
    status: 'not_started',
    subscription: null,
    current_phase: null,
  };
  table.insert(schedule);
  if (start <= now) {
    // The subscription starts now; the schedule is created first so it can point at it.
    startSubscription(ctx, schedule);
    const created = table.require(id);
    emitEvent(ctx, 'subscription_schedule.created', created);
    return created;
  }
  emitEvent(ctx, 'subscription_schedule.created', schedule);
  scheduleNextPhase(ctx, schedule, now);
  return schedule;
}

function baseSchedule(id: string, customer: string, clock: string | null, now: number) {
  return {
    id,
    object: 'subscription_schedule' as const,
    application: null,
    billing_mode: {
      flexible: { proration_discounts: 'included' as const },
      type: 'flexible' as const,
      updated_at: now,
    },
    canceled_at: null,
    completed_at: null,
    created: now,
    customer,
    customer_account: null,
    livemode: false,
    pause_schedules: [],
    released_at: null,
    released_subscription: null,
    test_clock: clock,
  };
}

const createParamsSchema = p.object({
  customer: p.string(),
  customer_account: p.string(),
  from_subscription: p.string(),
  phases: p.array(phaseParams),
  start_date: p.timestamp({ allowNow: true }),
  end_behavior: p.enum(['cancel', 'none', 'release', 'renew']),
  metadata: p.metadata(),
  default_settings: defaultSettingsParams,
  billing_mode: p.any(),
  pause_schedules: p.any(),
});

const updateParamsSchema = p.object({
  phases: p.array(phaseParams),
  end_behavior: p.enum(['cancel', 'none', 'release', 'renew']),
  metadata: p.metadata(),
  default_settings: defaultSettingsParams,
  proration_behavior: p.enum(['always_invoice', 'create_prorations', 'none']),
  pause_schedules: p.any(),
});

function updateSchedule(
  ctx: Emulator,
  old: ScheduleRow,
  params: ReturnType<typeof updateParamsSchema.parse>,
): ScheduleRow {
  if (!ACTIVE.has(old.status)) {
    throw invalidRequest(
      `You cannot update a subscription schedule that is currently in the \`${old.status}\` status. It must be in \`not_started\` or \`active\`.`,
    );
  }
  const table = ctx.store.of(SubscriptionSchedules);
  const now = nowFor(ctx, old);
  let phases = old.phases;
  if (params.phases) {
    phases = normalizePhases(ctx, params.phases as PhaseParam[], old.phases[0]!.start_date, now);
    if (old.status === 'active' && phaseAt({ ...old, phases }, now) === -1) {
      throw invalidRequest('The phases must include the current time for an active schedule.', 'phases');
    }
  }
  let next: ScheduleRow = {
    ...old,
    phases,
    end_behavior: params.end_behavior ?? old.end_behavior,
    metadata: mergeMetadata(old.metadata ?? {}, params.metadata),
    default_settings: defaultSettings(old.default_settings, params.default_settings, null),
    current_phase: old.status === 'active' ? currentPhaseOf({ ...old, phases }, now) : null,
  };
  table.replace(next);
  emitEvent(ctx, 'subscription_schedule.updated', next, { previousAttributes: diff(old, next) });
  // A changed current phase applies to the subscription at once.
  if (old.status === 'active' && typeof old.subscription === 'string') {
    const sub = ctx.store.of(Subscriptions).get(old.subscription);
    const phase = phases[phaseAt(next, now)]!;
    const key = (items: { price: unknown; quantity?: number }[]) =>
      JSON.stringify(
        items
          .map((i) => [
            typeof i.price === 'string' ? i.price : (i.price as { id: string }).id,
            i.quantity ?? 1,
          ])
          .sort(),
      );
    if (sub && key(sub.items.data) !== key(phase.items)) {
      const wanted = phase.items.map((item) => {
        const keep = sub.items.data.find((i) => i.price.id === item.price);
        return keep
          ? { id: keep.id, quantity: item.quantity ?? 1 }
          : { price: item.price as string, quantity: item.quantity ?? 1 };
      });
      const kept = new Set(wanted.map((w) => ('id' in w ? w.id : '')));
      updateSubscription(ctx, sub, {
        items: [
          ...sub.items.data.filter((i) => !kept.has(i.id)).map((i) => ({ id: i.id, deleted: true })),
          ...wanted,
        ],
        proration_behavior: params.proration_behavior ?? (phase.proration_behavior as 'create_prorations'),
      });
    }
  }
  next = table.require(old.id);
  scheduleNextPhase(ctx, next, now);
  return next;
}

export const subscriptionSchedulesModule: EmulatorModule = {
  name: 'subscription_schedules',
  register(app) {
    scheduleStarters.start = (ctx, schedule) => {
      startSubscription(ctx, schedule);
    };

    app.post('/v1/subscription_schedules', createParamsSchema.shape, (req) =>
      createSchedule(req.ctx, req.params),
    );

    app.get('/v1/subscription_schedules/:id', {}, (req) =>
      req.ctx.store.of(SubscriptionSchedules).require(req.path.id!),
    );

    app.post('/v1/subscription_schedules/:id', updateParamsSchema.shape, (req) =>
      updateSchedule(req.ctx, req.ctx.store.of(SubscriptionSchedules).require(req.path.id!), req.params),
    );

    app.post('/v1/subscription_schedules/:id/release', { preserve_cancel_date: p.bool() }, (req) => {
      const { ctx } = req;
      const table = ctx.store.of(SubscriptionSchedules);
      const old = table.require(req.path.id!);
      if (!ACTIVE.has(old.status)) {
        throw invalidRequest(
          `You cannot release a subscription schedule that is currently in the \`${old.status}\` status. It must be in \`not_started\` or \`active\`.`,
        );
      }
      const now = nowFor(ctx, old);
      ctx.scheduler.cancel(`sched-phase:${old.id}`);
      ctx.scheduler.cancel(`sched-expiring:${old.id}`);
      const next = table.replace({
        ...old,
        status: 'released',
        released_at: now,
        released_subscription: (old.subscription as string | null) ?? null,
        current_phase: null,
        subscription: null,
      });
      if (typeof old.subscription === 'string') {
        const sub = ctx.store.of(Subscriptions).get(old.subscription);
        if (sub) {
          const released = saveSubscription(ctx, { ...sub, schedule: null });
          emitEvent(ctx, 'customer.subscription.updated', released, {
            previousAttributes: { schedule: old.id },
          });
        }
      }
      emitEvent(ctx, 'subscription_schedule.released', next, { previousAttributes: diff(old, next) });
      return next;
    });

    app.post('/v1/subscription_schedules/:id/cancel', { invoice_now: p.bool(), prorate: p.bool() }, (req) => {
      const { ctx, params } = req;
      const table = ctx.store.of(SubscriptionSchedules);
      const old = table.require(req.path.id!);
      if (!ACTIVE.has(old.status)) {
        throw invalidRequest(
          `You cannot cancel a subscription schedule that is currently in the \`${old.status}\` status. It must be in \`not_started\` or \`active\`.`,
        );
      }
      ctx.scheduler.cancel(`sched-phase:${old.id}`);
      ctx.scheduler.cancel(`sched-expiring:${old.id}`);
      if (typeof old.subscription === 'string') {
        const sub = ctx.store.of(Subscriptions).get(old.subscription);
        if (sub && sub.status !== 'canceled' && sub.status !== 'incomplete_expired') {
          cancelSubscription(ctx, sub, {
            invoiceNow: params.invoice_now ?? true,
            prorate: params.prorate ?? true,
            reason: 'cancellation_requested',
            fromSchedule: true,
          });
        }
      }
      const now = nowFor(ctx, old);
      const next = table.replace({
        ...table.require(old.id),
        status: 'canceled',
        canceled_at: now,
        current_phase: null,
      });
      emitEvent(ctx, 'subscription_schedule.canceled', next, { previousAttributes: diff(old, next) });
      return next;
    });

    app.list(
      '/v1/subscription_schedules',
      {
        customer: p.string(),
        customer_account: p.string(),
        scheduled: p.bool(),
        created: p.range(),
        canceled_at: p.range(),
        completed_at: p.range(),
        released_at: p.range(),
      },
      (req) => {
        const { customer, scheduled, created, canceled_at, completed_at, released_at } = req.params;
        const table = req.ctx.store.of(SubscriptionSchedules);
        const at = (v: number | null, r: Stripe.RangeQueryParam | undefined) =>
          !r || (v !== null && inRange(v, r));
        const rows = table.sorted(
          (s) =>
            (!customer || s.customer === customer) &&
            (scheduled === undefined || (s.status === 'not_started') === scheduled) &&
            inRange(s.created, created) &&
            at(s.canceled_at, canceled_at) &&
            at(s.completed_at, completed_at) &&
            at(s.released_at, released_at),
        );
        return paginate(req, rows, table);
      },
    );
  },
};
