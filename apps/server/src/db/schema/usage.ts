import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { organizations } from './organizations.ts';

const orgRef = () =>
  text('org_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' });
const ts = (name: string) => timestamp(name, { withTimezone: true });

/** Per-org credit alert and auto top-up settings. */
export const creditSettings = pgTable('credit_settings', {
  orgId: text('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  /** Low-balance threshold: absolute credits, or a percentage of the current period's allocation. */
  lowBalanceThreshold: integer('low_balance_threshold'),
  lowBalancePercent: integer('low_balance_percent'),
  /** True once an alert fired for the current crossing; re-armed when the balance rises above again. */
  lowBalanceAlerted: boolean('low_balance_alerted').notNull().default(false),
  /** Counts low-balance crossings: names each alert's cause key (one alert per crossing). */
  lowBalanceCrossings: integer('low_balance_crossings').notNull().default(0),
  /** Unusual usage: last hour above k × the trailing hourly average. */
  unusualUsageFactor: doublePrecision('unusual_usage_factor'),
  unusualUsageAlertedHour: ts('unusual_usage_alerted_hour'),
  autoTopUpEnabled: boolean('auto_top_up_enabled').notNull().default(false),
  autoTopUpThreshold: integer('auto_top_up_threshold'),
  autoTopUpPack: text('auto_top_up_pack'),
  /** The purchase in flight (payment intent id), at most one. */
  autoTopUpInFlight: text('auto_top_up_in_flight'),
  autoTopUpStartedAt: ts('auto_top_up_started_at'),
  /** Counts purchases started: the deterministic idempotency key of each is (org, attempt). */
  autoTopUpAttempts: integer('auto_top_up_attempts').notNull().default(0),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/**
 * Credits consumed per org and clock hour, for unusual-usage detection: counted in memory on the
 * hot path and added here at most once a minute per org and process, so detection reads at most
 * 169 rows instead of a week of ledger entries. Rows older than 8 days are pruned.
 */
export const creditUsageHours = pgTable(
  'credit_usage_hours',
  {
    orgId: orgRef(),
    hour: ts('hour').notNull(),
    consumed: bigint('consumed', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.hour] })],
);

/** Alerts raised for an org: low balance, unusual usage, failed auto top-up. One per crossing. */
export const creditAlerts = pgTable(
  'credit_alerts',
  {
    id: text('id').primaryKey(),
    orgId: orgRef(),
    kind: text('kind', { enum: ['low_balance', 'unusual_usage', 'auto_top_up_failed'] }).notNull(),
    causeKey: text('cause_key').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: ts('created_at').notNull().defaultNow(),
    acknowledgedAt: ts('acknowledged_at'),
  },
  (t) => [
    uniqueIndex('credit_alerts_cause_key').on(t.causeKey),
    index('credit_alerts_org_idx').on(t.orgId, t.createdAt),
  ],
);

/**
 * Metered add-on usage (SMS, email, webhook calls) and credit overage, recorded here first and
 * reported to Stripe billing meters in batches; `identifier` is the meter event's idempotent id.
 */
export const meteredUsage = pgTable(
  'metered_usage',
  {
    id: text('id').primaryKey(),
    orgId: orgRef(),
    /** Catalog metered add-on key, or `credit_overage`. */
    addonKey: text('addon_key').notNull(),
    meterEventName: text('meter_event_name').notNull(),
    quantity: integer('quantity').notNull(),
    idempotencyKey: text('idempotency_key'),
    identifier: text('identifier').notNull(),
    occurredAt: ts('occurred_at').notNull(),
    reportedAt: ts('reported_at'),
    reportAttempts: integer('report_attempts').notNull().default(0),
    /** When the next report attempt is due (backoff after a failure). */
    nextReportAt: ts('next_report_at').notNull().defaultNow(),
    lastError: text('last_error'),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('metered_usage_identifier').on(t.identifier),
    uniqueIndex('metered_usage_key').on(t.orgId, t.idempotencyKey),
    index('metered_usage_unreported_idx').on(t.reportedAt, t.nextReportAt),
    index('metered_usage_org_idx').on(t.orgId, t.addonKey, t.occurredAt),
  ],
);
