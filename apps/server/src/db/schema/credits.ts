import { bigint, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { organizations } from './organizations.ts';

const orgRef = () =>
  text('org_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' });
/**
 * The ledger and the consumptions name their org without a foreign key: they are written only by
 * the ledger functions, which have locked the org's `credit_accounts` row (itself a foreign key to
 * the org) in the same transaction, and a foreign-key check per inserted row costs the
 * consumption path a lookup and a row lock on `organizations` for nothing. Append-only records of
 * money-like value are not cascade-deleted either.
 */
const orgColumn = () => text('org_id').notNull();
const ts = (name: string) => timestamp(name, { withTimezone: true });

/**
 * One row per org that has ever had credits: the lock point for consumption (row lock per org)
 * and the cached balance (= sum of `remaining` over its live grants; the ledger is the truth).
 */
export const creditAccounts = pgTable('credit_accounts', {
  orgId: text('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  balance: integer('balance').notNull().default(0),
  /** Credits consumed beyond the balance on an overage plan (billed as a metered line). */
  overage: integer('overage').notNull().default(0),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** A bucket of credits: a subscription period's allocation, a purchased pack, a promotion, a manual grant. */
export const creditGrants = pgTable(
  'credit_grants',
  {
    id: text('id').primaryKey(),
    orgId: orgRef(),
    source: text('source', { enum: ['subscription', 'pack', 'promotional', 'manual'] }).notNull(),
    amount: integer('amount').notNull(),
    remaining: integer('remaining').notNull(),
    expiresAt: ts('expires_at'),
    /** Unique per cause (`credits.period:<sub>:<period start>`, `credits.pack:<pi>:<pack>`, ...): granted once. */
    causeKey: text('cause_key').notNull(),
    /** The Stripe object behind it (subscription, payment intent, checkout session) or the operator. */
    sourceRef: text('source_ref'),
    packKey: text('pack_key'),
    reason: text('reason'),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    revokedAt: ts('revoked_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('credit_grants_cause_key').on(t.causeKey),
    index('credit_grants_org_idx').on(t.orgId, t.expiresAt),
    index('credit_grants_source_ref_idx').on(t.sourceRef),
    // No index on `remaining` (keeps consumption's updates HOT); fillfactor set in the migration.
    index('credit_grants_expiry_idx').on(t.expiresAt),
  ],
);

/**
 * The append-only ledger. `amount` is signed: grants add, consume/expire/revoke subtract.
 * For every org: sum(amount) over its entries = its balance.
 */
export const creditLedger = pgTable(
  'credit_ledger',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    orgId: orgColumn(),
    kind: text('kind', { enum: ['grant', 'consume', 'expire', 'revoke', 'overage'] }).notNull(),
    grantId: text('grant_id'),
    amount: integer('amount').notNull(),
    balanceAfter: integer('balance_after').notNull(),
    consumptionId: text('consumption_id'),
    usageEvent: text('usage_event'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('credit_ledger_org_idx').on(t.orgId, t.id)],
);

/** One per accepted consumption; the unique (org, idempotency key) makes a replay return the original. */
export const creditConsumptions = pgTable(
  'credit_consumptions',
  {
    id: text('id').primaryKey(),
    orgId: orgColumn(),
    idempotencyKey: text('idempotency_key').notNull(),
    /** Hash of the request body: the same key with a different body is a 409, not a replay. */
    requestHash: text('request_hash').notNull(),
    usageEvent: text('usage_event').notNull(),
    quantity: integer('quantity').notNull(),
    credits: integer('credits').notNull(),
    overage: integer('overage').notNull().default(0),
    balanceAfter: integer('balance_after').notNull(),
    /** [{ grant_id, source, credits }] in the order consumed. */
    breakdown: jsonb('breakdown').$type<{ grant_id: string; source: string; credits: number }[]>().notNull(),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('credit_consumptions_key').on(t.orgId, t.idempotencyKey)],
);
