/**
 * Billing meters (`/v1/billing/meters`: create, retrieve, update, list, deactivate,
 * reactivate, event summaries), meter events (`/v1/billing/meter_events`) and meter event
 * adjustments (`/v1/billing/meter_event_adjustments`, type `cancel`).
 *
 * Stripe accepts a meter event and processes it asynchronously; here it is aggregated at
 * once. What Stripe rejects synchronously is rejected here too: an identifier seen in the last
 * 24 h (400, `Stripe-Should-Retry: false`) and a timestamp more than 35 days in the past or
 * 5 minutes in the future (on the customer's test clock when it has one). Problems Stripe only
 * reports later in an error report (no active meter for the event name, no or unknown
 * customer, a value that is not a whole number) leave the event accepted but uncounted.
 * Summing, counting and "last" live in usage.ts (`meterUsage`, used by the billing engine).
 */
import { createHash, randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { diff, emitEvent, nowFor } from '../../core/events.ts';
import { paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { invalidRequest, StripeApiError } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { Customers } from '../customers/tables.ts';
import { MeterEventIdentifiers, type MeterEventRow, MeterEvents, Meters } from './tables.ts';
import { aggregate, meterPoints } from './usage.ts';

const DAY = 86_400;
/** Identifiers are unique within a rolling 24 h. */
const IDENTIFIER_WINDOW = DAY;

const formula = p.enum(['count', 'last', 'sum']);

const createParams = {
  default_aggregation: p.required(p.object({ formula: p.required(formula) })),
  display_name: p.required(p.string({ maxLength: 250 })),
  event_name: p.required(p.string({ maxLength: 100 })),
  customer_mapping: p.object({
    event_payload_key: p.required(p.string({ maxLength: 100 })),
    type: p.required(p.enum(['by_id'])),
  }),
  event_time_window: p.enum(['day', 'hour']),
  value_settings: p.object({ event_payload_key: p.required(p.string({ maxLength: 100 })) }),
};

/** The active meter that takes events named `eventName`, if any. */
export function activeMeterFor(ctx: Emulator, eventName: string): Stripe.Billing.Meter | undefined {
  for (const meter of ctx.store.of(Meters).values()) {
    if (meter.event_name === eventName && meter.status === 'active') return meter;
  }
  return undefined;
}

/** The API shape of a stored meter event (its internal id is not part of it). */
export function renderMeterEvent(row: MeterEventRow): Stripe.Billing.MeterEvent {
  const { id: _internal, ...event } = row;
  return event;
}

function setStatus(ctx: Emulator, id: string, status: 'active' | 'inactive'): Stripe.Billing.Meter {
  const table = ctx.store.of(Meters);
  const old = table.require(id);
  if (old.status === status) {
    throw invalidRequest(
      `The meter ${id} is already ${status}.`,
      undefined,
      status === 'inactive' ? 'meter_already_inactive' : 'meter_already_active',
    );
  }
  const now = ctx.clock.now();
  const next = table.replace({
    ...old,
    status,
    status_transitions: { deactivated_at: status === 'inactive' ? now : null },
    updated: now,
  });
  emitEvent(ctx, status === 'inactive' ? 'billing.meter.deactivated' : 'billing.meter.reactivated', next, {
    previousAttributes: diff(old, next),
  });
  return next;
}

function payloadOf(raw: unknown): Record<string, string> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw invalidRequest('Invalid object', 'payload', 'parameter_invalid_object');
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') throw invalidRequest('Invalid string', `payload[${key}]`);
    out[key] = value;
  }
  return out;
}

export interface MeterEventInput {
  event_name: string;
  payload: Record<string, string>;
  identifier?: string;
  timestamp?: number;
}

/** Record a meter event like `POST /v1/billing/meter_events` (throws Stripe's 400s). */
export function createMeterEvent(ctx: Emulator, input: MeterEventInput): Stripe.Billing.MeterEvent {
  const received = ctx.clock.now();
  const identifiers = ctx.store.of(MeterEventIdentifiers);
  const identifier = input.identifier ?? randomUUID();
  const seen = identifiers.get(identifier);
  if (seen && received - seen.created < IDENTIFIER_WINDOW) {
    throw new StripeApiError({
      status: 400,
      type: 'invalid_request_error',
      message: `An event already exists with identifier ${identifier}.`,
      param: 'identifier',
      headers: { 'Stripe-Should-Retry': 'false' },
    });
  }
  const meter = activeMeterFor(ctx, input.event_name);
  const customerKey = meter?.customer_mapping.event_payload_key ?? 'stripe_customer_id';
  const valueKey = meter?.value_settings.event_payload_key ?? 'value';
  const customerId = input.payload[customerKey];
  const customer = customerId ? ctx.store.of(Customers).get(customerId) : undefined;
  // Times follow the customer's test clock when it has one (usage lands in its periods).
  const now = customer ? nowFor(ctx, customer) : received;
  const timestamp = input.timestamp ?? now;
  if (timestamp < now - 35 * DAY || timestamp > now + 300) {
    throw invalidRequest(
      'The timestamp must be within the past 35 calendar days and no more than 5 minutes in the future.',
      'timestamp',
      'timestamp_out_of_range',
    );
  }
  const rawValue = input.payload[valueKey];
  const value = rawValue !== undefined && /^-?\d+$/.test(rawValue) ? Number(rawValue) : null;
  const table = ctx.store.of(MeterEvents);
  const row = table.insert(
    {
      id: table.newId(),
      object: 'billing.meter_event',
      created: now,
      event_name: input.event_name,
      identifier,
      livemode: false,
      payload: input.payload,
      timestamp,
    },
    { meter: meter?.id ?? null, customer: customer?.id ?? null, value, received },
  );
  if (seen) identifiers.rows.delete(identifier);
  identifiers.insert({
    id: identifier,
    object: 'billing.meter_event_identifier',
    created: received,
    event: row.id,
  });
  return renderMeterEvent(row);
}

function summaryId(meter: string, customer: string, start: number, end: number): string {
  const hash = createHash('sha256').update(`${meter}|${customer}|${start}|${end}`).digest('hex');
  return `mtrusg_test_${hash.slice(0, 40)}`;
}

function checkAligned(value: number, seconds: number, param: string, unit: string): void {
  if (value % seconds !== 0) {
    throw invalidRequest(`\`${param}\` must be aligned with ${unit} boundaries.`, param);
  }
}

/**
 * Event summaries for a customer over [start, end): one for the whole range, or one per
 * hour/day window that has events, newest first.
 */
export function eventSummaries(
  ctx: Emulator,
  meter: Stripe.Billing.Meter,
  customerId: string,
  start: number,
  end: number,
  window: 'hour' | 'day' | undefined,
): Stripe.Billing.MeterEventSummary[] {
  const points = meterPoints(ctx, meter, customerId, start, end);
  const summary = (from: number, to: number, value: number): Stripe.Billing.MeterEventSummary => ({
    id: summaryId(meter.id, customerId, from, to),
    object: 'billing.meter_event_summary',
    aggregated_value: value,
    end_time: to,
    livemode: false,
    meter: meter.id,
    start_time: from,
  });
  const formulaName = meter.default_aggregation.formula;
  if (!window) return [summary(start, end, aggregate(formulaName, points))];
  const size = window === 'hour' ? 3600 : DAY;
  const buckets = new Map<number, typeof points>();
  for (const point of points) {
    const from = point.timestamp - ((point.timestamp - start) % size);
    const list = buckets.get(from);
    if (list) list.push(point);
    else buckets.set(from, [point]);
  }
  return [...buckets.keys()]
    .sort((a, b) => b - a)
    .map((from) => summary(from, Math.min(from + size, end), aggregate(formulaName, buckets.get(from)!)));
}

export const metersModule: EmulatorModule = {
  name: 'billing_meters',
  register(app) {
    app.post('/v1/billing/meters', createParams, (req) => {
      const { ctx, params } = req;
      const table = ctx.store.of(Meters);
      for (const other of table.values()) {
        if (other.event_name === params.event_name) {
          throw invalidRequest(
            `A meter with event_name \`${params.event_name}\` already exists: ${other.id}.`,
            'event_name',
            'resource_already_exists',
          );
        }
      }
      const now = ctx.clock.now();
      const meter: Stripe.Billing.Meter = {
        id: table.newId(),
        object: 'billing.meter',
        created: now,
        customer_mapping: params.customer_mapping ?? {
          event_payload_key: 'stripe_customer_id',
          type: 'by_id',
        },
        default_aggregation: { formula: params.default_aggregation.formula },
        display_name: params.display_name,
        event_name: params.event_name,
        event_time_window: params.event_time_window ?? null,
        livemode: false,
        status: 'active',
        status_transitions: { deactivated_at: null },
        updated: now,
        value_settings: params.value_settings ?? { event_payload_key: 'value' },
      };
      table.insert(meter);
      emitEvent(ctx, 'billing.meter.created', meter);
      return meter;
    });

    app.get('/v1/billing/meters/:id', {}, (req) => req.ctx.store.of(Meters).require(req.path.id!));

    app.post('/v1/billing/meters/:id', { display_name: p.string({ maxLength: 250 }) }, (req) => {
      const table = req.ctx.store.of(Meters);
      const old = table.require(req.path.id!);
      if (req.params.display_name === undefined || req.params.display_name === old.display_name) return old;
      const next = table.replace({
        ...old,
        display_name: req.params.display_name,
        updated: req.ctx.clock.now(),
      });
      emitEvent(req.ctx, 'billing.meter.updated', next, { previousAttributes: diff(old, next) });
      return next;
    });

    app.list('/v1/billing/meters', { status: p.enum(['active', 'inactive']) }, (req) => {
      const table = req.ctx.store.of(Meters);
      const { status } = req.params;
      return paginate(
        req,
        table.sorted((m) => !status || m.status === status),
        table,
      );
    });

    app.post('/v1/billing/meters/:id/deactivate', {}, (req) => setStatus(req.ctx, req.path.id!, 'inactive'));
    app.post('/v1/billing/meters/:id/reactivate', {}, (req) => setStatus(req.ctx, req.path.id!, 'active'));

    app.list(
      '/v1/billing/meters/:id/event_summaries',
      {
        customer: p.required(p.string()),
        start_time: p.required(p.timestamp()),
        end_time: p.required(p.timestamp()),
        value_grouping_window: p.enum(['day', 'hour']),
      },
      (req) => {
        const { ctx, params } = req;
        const meter = ctx.store.of(Meters).require(req.path.id!);
        const customer = ctx.store.of(Customers).require(params.customer, 'customer');
        const { start_time: start, end_time: end, value_grouping_window: window } = params;
        checkAligned(start, 60, 'start_time', 'minute');
        checkAligned(end, 60, 'end_time', 'minute');
        if (start >= end) throw invalidRequest('`start_time` must be before `end_time`.', 'start_time');
        if (window) {
          const [size, unit] = window === 'hour' ? [3600, 'hour'] : [DAY, 'UTC day'];
          checkAligned(start, size, 'start_time', unit);
          checkAligned(end, size, 'end_time', unit);
        }
        return paginate(req, eventSummaries(ctx, meter, customer.id, start, end, window));
      },
    );

    app.post(
      '/v1/billing/meter_events',
      {
        event_name: p.required(p.string({ maxLength: 100 })),
        payload: p.required(p.any()),
        identifier: p.string({ maxLength: 100 }),
        timestamp: p.timestamp(),
      },
      (req) => {
        const { params } = req;
        return createMeterEvent(req.ctx, {
          event_name: params.event_name,
          payload: payloadOf(params.payload),
          identifier: params.identifier,
          timestamp: params.timestamp,
        });
      },
    );

    app.post(
      '/v1/billing/meter_event_adjustments',
      {
        event_name: p.required(p.string({ maxLength: 100 })),
        type: p.required(p.enum(['cancel'])),
        cancel: p.object({ identifier: p.string({ maxLength: 100 }) }),
      },
      (req) => {
        const { ctx, params } = req;
        const identifier = params.cancel?.identifier;
        if (!identifier) {
          throw invalidRequest(
            'Missing required param: cancel[identifier].',
            'cancel[identifier]',
            'parameter_missing',
          );
        }
        // Stripe cancels asynchronously (status pending); here the event stops counting now.
        const seen = ctx.store.of(MeterEventIdentifiers).get(identifier);
        const events = ctx.store.of(MeterEvents);
        const event = seen && events.get(seen.event);
        if (
          event &&
          event.event_name === params.event_name &&
          ctx.clock.now() - seen.created < IDENTIFIER_WINDOW
        ) {
          events.setMeta(event.id, { ...events.meta(event.id)!, canceled: true });
        }
        const adjustment: Stripe.Billing.MeterEventAdjustment = {
          object: 'billing.meter_event_adjustment',
          cancel: { identifier },
          event_name: params.event_name,
          livemode: false,
          status: 'pending',
          type: 'cancel',
        };
        return adjustment;
      },
    );
  },
};
