import { boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The catalog as pushed to Stripe (platform-wide, readable by every org; written by
 * `tollgate catalog push`). Source of truth is tollgate.config.ts; these rows add Stripe ids.
 */
export const plans = pgTable('plans', {
  key: text('key').primaryKey(),
  name: text('name').notNull(),
  description: text('description'),
  rank: integer('rank').notNull(),
  trialDays: integer('trial_days').notNull().default(0),
  features: jsonb('features').$type<Record<string, boolean | number | null>>().notNull(),
  creditsPerPeriod: integer('credits_per_period').notNull().default(0),
  allowOverage: boolean('allow_overage').notNull().default(false),
  stripeProductId: text('stripe_product_id'),
  active: boolean('active').notNull().default(true),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** One row per Stripe price Tollgate created; archived prices stay (subscribers keep them). */
export const prices = pgTable(
  'prices',
  {
    id: text('id').primaryKey(),
    lookupKey: text('lookup_key'),
    kind: text('kind', { enum: ['plan', 'pack', 'metered'] }).notNull(),
    /** plan key, pack key or metered add-on key */
    refKey: text('ref_key').notNull(),
    interval: text('interval', { enum: ['month', 'year'] }),
    currency: text('currency').notNull(),
    /** Integer minor units; null for tiered and sub-cent metered prices. */
    unitAmount: integer('unit_amount'),
    unitAmountDecimal: text('unit_amount_decimal'),
    model: text('model').notNull(),
    spec: jsonb('spec').notNull(),
    /** Credits granted by a pack. */
    credits: integer('credits'),
    stripeProductId: text('stripe_product_id').notNull(),
    active: boolean('active').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('prices_ref_idx').on(t.kind, t.refKey),
    uniqueIndex('prices_active_lookup_key').on(t.lookupKey),
  ],
);
