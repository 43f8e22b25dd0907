import { pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/** A tenant. The billing columns are the projection of Stripe that the billing issues fill in. */
export const organizations = pgTable(
  'organizations',
  {
    id: text('id').primaryKey(),
    /** The host product's / identity provider's id for this org (e.g. a Clerk org id). */
    externalId: text('external_id'),
    name: text('name').notNull(),
    billingEmail: text('billing_email'),
    stripeCustomerId: text('stripe_customer_id'),
    subscriptionId: text('subscription_id'),
    subscriptionStatus: text('subscription_status'),
    currentPeriodEnd: timestamp('current_period_end', { withTimezone: true }),
    trialEndsAt: timestamp('trial_ends_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('organizations_external_id_key').on(t.externalId),
    uniqueIndex('organizations_stripe_customer_id_key').on(t.stripeCustomerId),
  ],
);
