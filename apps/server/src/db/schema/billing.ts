import { bigint, boolean, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { organizations } from './organizations.ts';

const orgRef = () =>
  text('org_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' });
const ts = (name: string) => timestamp(name, { withTimezone: true });

/**
 * Projection of Stripe subscriptions. `stripe_updated_at` is the watermark: the `created` time
 * of the event (or API response) the row was last written from; an older source never wins.
 */
export const subscriptions = pgTable(
  'subscriptions',
  {
    id: text('id').primaryKey(),
    orgId: orgRef(),
    customerId: text('customer_id').notNull(),
    status: text('status').notNull(),
    planKey: text('plan_key'),
    priceId: text('price_id'),
    interval: text('interval'),
    quantity: integer('quantity').notNull().default(1),
    currentPeriodStart: ts('current_period_start'),
    currentPeriodEnd: ts('current_period_end'),
    trialEnd: ts('trial_end'),
    cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
    cancelAt: ts('cancel_at'),
    canceledAt: ts('canceled_at'),
    scheduleId: text('schedule_id'),
    pendingPlanKey: text('pending_plan_key'),
    pendingPriceId: text('pending_price_id'),
    pendingChangeAt: ts('pending_change_at'),
    defaultPaymentMethodId: text('default_payment_method_id'),
    latestInvoiceId: text('latest_invoice_id'),
    collectionMethod: text('collection_method').notNull().default('charge_automatically'),
    discount: jsonb('discount'),
    stripeUpdatedAt: bigint('stripe_updated_at', { mode: 'number' }).notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('subscriptions_org_idx').on(t.orgId)],
);

/** Card summaries only: never numbers or CVCs. */
export const paymentMethods = pgTable(
  'payment_methods',
  {
    id: text('id').primaryKey(),
    orgId: orgRef(),
    customerId: text('customer_id').notNull(),
    brand: text('brand'),
    last4: text('last4'),
    expMonth: integer('exp_month'),
    expYear: integer('exp_year'),
    isDefault: boolean('is_default').notNull().default(false),
    createdAt: ts('created_at').notNull().defaultNow(),
    detachedAt: ts('detached_at'),
  },
  (t) => [index('payment_methods_org_idx').on(t.orgId)],
);

export const invoices = pgTable(
  'invoices',
  {
    id: text('id').primaryKey(),
    orgId: orgRef(),
    customerId: text('customer_id').notNull(),
    subscriptionId: text('subscription_id'),
    number: text('number'),
    status: text('status').notNull(),
    billingReason: text('billing_reason'),
    collectionMethod: text('collection_method'),
    currency: text('currency').notNull(),
    subtotal: integer('subtotal').notNull().default(0),
    total: integer('total').notNull().default(0),
    amountDue: integer('amount_due').notNull().default(0),
    amountPaid: integer('amount_paid').notNull().default(0),
    amountRemaining: integer('amount_remaining').notNull().default(0),
    attemptCount: integer('attempt_count').notNull().default(0),
    hostedInvoiceUrl: text('hosted_invoice_url'),
    invoicePdf: text('invoice_pdf'),
    periodStart: ts('period_start'),
    periodEnd: ts('period_end'),
    dueDate: ts('due_date'),
    paidAt: ts('paid_at'),
    nextPaymentAttempt: ts('next_payment_attempt'),
    stripeCreatedAt: ts('stripe_created_at').notNull(),
    stripeUpdatedAt: bigint('stripe_updated_at', { mode: 'number' }).notNull().default(0),
  },
  (t) => [index('invoices_org_idx').on(t.orgId, t.stripeCreatedAt)],
);

/** One row per PaymentIntent: the org's payment history. */
export const payments = pgTable(
  'payments',
  {
    id: text('id').primaryKey(),
    orgId: orgRef(),
    customerId: text('customer_id'),
    invoiceId: text('invoice_id'),
    chargeId: text('charge_id'),
    amountCents: integer('amount_cents').notNull(),
    amountRefundedCents: integer('amount_refunded_cents').notNull().default(0),
    currency: text('currency').notNull(),
    status: text('status', {
      enum: ['succeeded', 'pending', 'failed', 'refunded', 'partially_refunded'],
    }).notNull(),
    cardBrand: text('card_brand'),
    cardLast4: text('card_last4'),
    description: text('description'),
    failureReason: text('failure_reason'),
    paidAt: ts('paid_at'),
    refundedAt: ts('refunded_at'),
    stripeCreatedAt: ts('stripe_created_at').notNull(),
    stripeUpdatedAt: bigint('stripe_updated_at', { mode: 'number' }).notNull().default(0),
  },
  (t) => [index('payments_org_idx').on(t.orgId, t.stripeCreatedAt, t.id)],
);

export const refunds = pgTable(
  'refunds',
  {
    id: text('id').primaryKey(),
    orgId: orgRef(),
    paymentId: text('payment_id').notNull(),
    amountCents: integer('amount_cents').notNull(),
    currency: text('currency').notNull(),
    reason: text('reason'),
    status: text('status').notNull(),
    createdBy: text('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('refunds_payment_idx').on(t.paymentId)],
);
