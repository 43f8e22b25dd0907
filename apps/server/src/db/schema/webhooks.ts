import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true });

/**
 * The Stripe event inbox. A verified event is stored here (keyed by its id, so a redelivery is a
 * no-op) before Stripe gets its 2xx; workers then apply it. The table is its own queue:
 * claimed with FOR UPDATE SKIP LOCKED, retried with backoff, dead-lettered after max attempts.
 */
export const stripeEvents = pgTable(
  'stripe_events',
  {
    id: text('id').primaryKey(),
    type: text('type').notNull(),
    objectId: text('object_id'),
    objectType: text('object_type'),
    /** Stripe's `created` (unix seconds, on Stripe's — possibly a test clock's — time). */
    stripeCreated: bigint('stripe_created', { mode: 'number' }).notNull(),
    apiVersion: text('api_version'),
    livemode: boolean('livemode').notNull().default(false),
    payload: jsonb('payload').notNull(),
    /** Resolved when applied (from the customer's metadata / our customer ids). */
    orgId: text('org_id'),
    status: text('status', { enum: ['pending', 'processing', 'applied', 'ignored', 'dead'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull().defaultNow(),
    lockedBy: text('locked_by'),
    lockedUntil: ts('locked_until'),
    lastError: text('last_error'),
    receivedAt: ts('received_at').notNull().defaultNow(),
    appliedAt: ts('applied_at'),
    replayCount: integer('replay_count').notNull().default(0),
  },
  (t) => [
    index('stripe_events_queue_idx').on(t.status, t.nextAttemptAt),
    index('stripe_events_type_idx').on(t.type, t.receivedAt),
    index('stripe_events_object_idx').on(t.objectId),
    index('stripe_events_org_idx').on(t.orgId, t.receivedAt),
  ],
);

/**
 * Exactly-once side effects: whatever an event causes (credit grant, email, outgoing webhook,
 * notification) first inserts its cause key here in the same transaction; a duplicate or
 * replayed event finds the key taken and does nothing.
 */
export const sideEffects = pgTable('side_effects', {
  key: text('key').primaryKey(),
  orgId: text('org_id'),
  kind: text('kind').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/** Where the host product receives Tollgate's own webhooks (registered by the platform). */
export const outgoingEndpoints = pgTable('outgoing_webhook_endpoints', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  /** HMAC secret, shown once at creation. */
  secret: text('secret').notNull(),
  /** Event types ('*' for all). */
  events: jsonb('events').$type<string[]>().notNull(),
  /** null = every org; otherwise only this org's events. */
  orgId: text('org_id'),
  description: text('description'),
  active: boolean('active').notNull().default(true),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/** One row per (event, endpoint): the delivery log, retried with backoff through jobs. */
export const outgoingDeliveries = pgTable(
  'outgoing_webhook_deliveries',
  {
    id: text('id').primaryKey(),
    endpointId: text('endpoint_id').notNull(),
    orgId: text('org_id'),
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    payload: jsonb('payload').notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'failed', 'dead'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: ts('created_at').notNull().defaultNow(),
    deliveredAt: ts('delivered_at'),
  },
  (t) => [
    uniqueIndex('outgoing_deliveries_event_endpoint').on(t.eventId, t.endpointId),
    index('outgoing_deliveries_endpoint_idx').on(t.endpointId, t.createdAt),
  ],
);
