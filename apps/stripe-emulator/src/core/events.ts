/**
 * Events. Every state change a webhook consumer would care about calls
 *
 *   emitEvent(ctx, 'customer.updated', customer, { previousAttributes: diff(old, customer) });
 *
 * which stores an `evt_` Event (list/retrieve via /v1/events), hands it to the webhook
 * dispatcher and runs the `eventEmitted` hook. `request` defaults to the API request being
 * handled (null inside scheduled jobs, i.e. "Stripe did it on its own"). `created` is the
 * time on the object's clock: a test-clock customer's objects emit at the frozen time.
 */
import type Stripe from 'stripe';
import type { Emulator, EventRequest } from './context.ts';
import { defineHook, runHook } from './hooks.ts';
import { defineTable, type Row } from './store.ts';

export type EventType = Stripe.Event.Type;

export interface EventRow {
  id: string;
  object: 'event';
  api_version: string | null;
  created: number;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: EventRequest | null;
  type: EventType;
}

/** The clock whose time stamped the event (for the 30-day listing window). */
export interface EventMeta {
  clock: string | null;
}

export const Events = defineTable<EventRow, EventMeta>({ object: 'event', prefix: 'evt' });

/** Runs after every event is stored (before webhook delivery starts). */
export const eventEmitted = defineHook<EventRow>('event.emitted');

export interface EmitOptions {
  /** Old values of the changed fields, for `*.updated` events (see `diff`). */
  previousAttributes?: Record<string, unknown>;
  /** Override the request (null = automatic action). Defaults to the current API request. */
  request?: EventRequest | null;
  /** Test clock whose time stamps the event. Defaults to the object's own clock. */
  clock?: string | null;
}

/** A plain-JSON copy: events and replays must not see later changes to the row. */
export function snapshot<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export function emitEvent(ctx: Emulator, type: EventType, object: Row, opts: EmitOptions = {}): EventRow {
  const clock = opts.clock !== undefined ? opts.clock : testClockOf(ctx, object);
  const event: EventRow = {
    id: ctx.store.of(Events).newId(),
    object: 'event',
    api_version: ctx.apiVersion,
    created: ctx.clock.now(clock),
    data: { object: snapshot(object) as unknown as Record<string, unknown> },
    livemode: false,
    pending_webhooks: 0,
    request: opts.request !== undefined ? opts.request : ctx.request,
    type,
  };
  if (opts.previousAttributes && Object.keys(opts.previousAttributes).length > 0) {
    event.data.previous_attributes = snapshot(opts.previousAttributes);
  }
  event.pending_webhooks = ctx.webhooks.matchingEndpoints(type).length;
  ctx.store.of(Events).insert(event, { clock });
  runHook(ctx, eventEmitted, event);
  ctx.webhooks.enqueue(event);
  return event;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * previous_attributes for an update: for every changed top-level field its old value;
 * for changed plain sub-objects (metadata, invoice_settings, address) only the changed keys,
 * like Stripe (a key that did not exist before appears with null).
 */
export function diff(before: object, after: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const oldValue = a[key];
    const newValue = b[key];
    if (oldValue === newValue) continue;
    if (isPlainObject(oldValue) && isPlainObject(newValue)) {
      const nested = diff(oldValue, newValue);
      if (Object.keys(nested).length > 0) out[key] = nested;
      continue;
    }
    if (JSON.stringify(oldValue) !== JSON.stringify(newValue))
      out[key] = oldValue === undefined ? null : oldValue;
  }
  return out;
}

/**
 * The test clock an object lives on: a customer's `test_clock`, or the test clock of the
 * object's `customer`. Null means the global clock. Use it for `created` stamps and when
 * scheduling jobs for the object.
 */
export function testClockOf(ctx: Emulator, object: unknown): string | null {
  if (!isPlainObject(object)) return null;
  const own = object.test_clock;
  if (typeof own === 'string') return own;
  if (isPlainObject(own) && typeof own.id === 'string') return own.id;
  if (object.object === 'customer') return null;
  const customer = object.customer;
  const customerId = typeof customer === 'string' ? customer : isPlainObject(customer) ? customer.id : null;
  if (typeof customerId !== 'string') return null;
  const row = ctx.store.findById(customerId)?.row as { test_clock?: unknown } | undefined;
  return typeof row?.test_clock === 'string' ? row.test_clock : null;
}

/** `now` on the clock of the given object (or of the customer id given). */
export function nowFor(ctx: Emulator, objectOrCustomer: unknown): number {
  if (typeof objectOrCustomer === 'string') {
    return ctx.clock.now(testClockOf(ctx, { object: 'x', customer: objectOrCustomer }));
  }
  return ctx.clock.now(testClockOf(ctx, objectOrCustomer));
}
