import { integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

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
    /** The catalog plan the org is on ('free' without a subscription). */
    planKey: text('plan_key').notNull().default('free'),
    /** Set when the org starts its first trial: one trial per org, ever. */
    trialUsedAt: timestamp('trial_used_at', { withTimezone: true }),
    /** Postal address as Stripe shapes it (line1, line2, city, state, postal_code, country). */
    address: jsonb('address').$type<Record<string, string | null> | null>(),
    taxIdType: text('tax_id_type'),
    taxIdValue: text('tax_id_value'),
    /** Institutions pay by invoice: send_invoice with net-N terms instead of card autopay. */
    collectionMethod: text('collection_method', { enum: ['charge_automatically', 'send_invoice'] })
      .notNull()
      .default('charge_automatically'),
    daysUntilDue: integer('days_until_due'),
    poNumber: text('po_number'),
    /**
     * Payment-failure state: ok | past_due (in grace) | action_required (3-D Secure pending) |
     * restricted (grace over, or Stripe gave up). Written by the webhook handlers.
     */
    billingState: text('billing_state', { enum: ['ok', 'past_due', 'action_required', 'restricted'] })
      .notNull()
      .default('ok'),
    pastDueSince: timestamp('past_due_since', { withTimezone: true }),
    graceEndsAt: timestamp('grace_ends_at', { withTimezone: true }),
    paymentFailureReason: text('payment_failure_reason'),
    /** Hosted invoice page where the customer completes a payment needing authentication. */
    paymentActionUrl: text('payment_action_url'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('organizations_external_id_key').on(t.externalId),
    uniqueIndex('organizations_stripe_customer_id_key').on(t.stripeCustomerId),
  ],
);
