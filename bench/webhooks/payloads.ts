/**
 * Realistic Stripe event payloads for the webhook benchmark: `invoice.paid` and
 * `customer.subscription.updated` shaped like Stripe's (API 2025-xx, nested lists, metadata,
 * previous_attributes), plus customer-less `payment_intent.created` (a guest payment), the one
 * type that resolves to no org without asking Stripe. Each has a unique `evt_` id, is serialised
 * once and signed once, up front, so neither cost lands in the server's figure.
 */
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';

export const API_VERSION = '2025-10-29.clover';

export interface SignedEvent {
  id: string;
  type: string;
  objectId: string;
  objectType: string;
  created: number;
  /** The exact bytes POSTed (and signed). */
  body: Buffer;
  signature: string;
}

const rid = (prefix: string, n = 24) =>
  `${prefix}_${randomBytes(n).toString('base64url').replace(/[-_]/g, 'x').slice(0, n)}`;

function price(created: number) {
  return {
    id: rid('price', 24),
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created,
    currency: 'usd',
    livemode: false,
    lookup_key: 'pro_monthly',
    metadata: { tollgate_plan: 'pro' },
    nickname: null,
    product: rid('prod', 14),
    recurring: { interval: 'month', interval_count: 1, meter: null, usage_type: 'licensed' },
    tax_behavior: 'exclusive',
    type: 'recurring',
    unit_amount: 4900,
    unit_amount_decimal: '4900',
  };
}

function invoicePaid(created: number, customer: string, subscription: string) {
  const id = rid('in', 24);
  const start = created - 30 * 86_400;
  return {
    id,
    object: 'invoice',
    account_country: 'IE',
    account_name: 'Acme SaaS Ltd',
    amount_due: 4900,
    amount_overpaid: 0,
    amount_paid: 4900,
    amount_remaining: 0,
    amount_shipping: 0,
    attempt_count: 1,
    attempted: true,
    auto_advance: false,
    billing_reason: 'subscription_cycle',
    collection_method: 'charge_automatically',
    created,
    currency: 'usd',
    customer,
    customer_email: `billing+${customer.slice(4, 12)}@example.com`,
    customer_name: 'Example Customer Inc.',
    default_payment_method: null,
    description: null,
    discounts: [],
    due_date: null,
    ending_balance: 0,
    hosted_invoice_url: `https://invoice.stripe.com/i/acct_1Bench/test_${id}`,
    invoice_pdf: `https://pay.stripe.com/invoice/acct_1Bench/test_${id}/pdf`,
    lines: {
      object: 'list',
      data: [
        {
          id: rid('il', 24),
          object: 'line_item',
          amount: 4900,
          currency: 'usd',
          description: '1 × Pro (at $49.00 / month)',
          discountable: true,
          invoice: id,
          livemode: false,
          metadata: {},
          parent: {
            type: 'subscription_item_details',
            subscription_item_details: { subscription, subscription_item: rid('si', 14), proration: false },
          },
          period: { end: created, start },
          pricing: {
            price_details: { price: rid('price', 24), product: rid('prod', 14) },
            type: 'price_details',
          },
          quantity: 1,
        },
      ],
      has_more: false,
      total_count: 1,
      url: `/v1/invoices/${id}/lines`,
    },
    livemode: false,
    metadata: {},
    number: `BENCH-${Math.floor(Math.random() * 1e6)}`,
    parent: { type: 'subscription_details', subscription_details: { subscription, metadata: {} } },
    period_end: created,
    period_start: start,
    status: 'paid',
    status_transitions: { finalized_at: created, paid_at: created + 2, voided_at: null },
    subtotal: 4900,
    total: 4900,
    total_excluding_tax: 4900,
  };
}

function subscriptionUpdated(created: number, customer: string, subscription: string) {
  const start = created - 86_400 * 40;
  const p = price(start);
  return {
    object: {
      id: subscription,
      object: 'subscription',
      application: null,
      automatic_tax: { enabled: false, liability: null },
      billing_cycle_anchor: start,
      cancel_at: null,
      cancel_at_period_end: false,
      canceled_at: null,
      collection_method: 'charge_automatically',
      created: start,
      currency: 'usd',
      customer,
      default_payment_method: rid('pm', 24),
      items: {
        object: 'list',
        data: [
          {
            id: rid('si', 14),
            object: 'subscription_item',
            created: start,
            current_period_end: created + 30 * 86_400,
            current_period_start: created,
            metadata: {},
            price: p,
            quantity: 3,
            subscription,
          },
        ],
        has_more: false,
        total_count: 1,
        url: `/v1/subscription_items?subscription=${subscription}`,
      },
      latest_invoice: rid('in', 24),
      livemode: false,
      metadata: { tollgate_org_id: `org_${customer.slice(4, 20)}` },
      status: 'active',
      trial_end: null,
      trial_start: null,
    },
    previous_attributes: { items: { data: [{ quantity: 2 }] } },
  };
}

function guestPaymentIntent(created: number) {
  const id = rid('pi', 24);
  return {
    id,
    object: 'payment_intent',
    amount: 2500,
    amount_received: 0,
    automatic_payment_methods: { enabled: true },
    capture_method: 'automatic',
    client_secret: `${id}_secret_${rid('x', 16)}`,
    created,
    currency: 'usd',
    customer: null,
    description: 'One-off purchase',
    livemode: false,
    metadata: {},
    payment_method: null,
    payment_method_types: ['card'],
    status: 'requires_payment_method',
  };
}

export type Kind = 'invoice.paid' | 'customer.subscription.updated' | 'payment_intent.created';

/** The ingest mix: 45% invoice.paid, 45% subscription.updated, 10% guest payment intents. */
export function kindAt(i: number): Kind {
  const r = i % 20;
  if (r < 9) return 'invoice.paid';
  if (r < 18) return 'customer.subscription.updated';
  return 'payment_intent.created';
}

/** Builds and signs `count` events (timestamp = now: sign shortly before sending; tolerance is 300 s). */
export function buildSignedEvents(count: number, secret: string, kinds: (i: number) => Kind = kindAt) {
  const out: SignedEvent[] = [];
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < count; i++) {
    const created = now - (count - i);
    const customer = rid('cus', 14);
    const subscription = rid('sub', 24);
    const type = kinds(i);
    let data: { object: Record<string, unknown>; previous_attributes?: unknown };
    if (type === 'invoice.paid') data = { object: invoicePaid(created, customer, subscription) };
    else if (type === 'customer.subscription.updated')
      data = subscriptionUpdated(created, customer, subscription);
    else data = { object: guestPaymentIntent(created) };
    const event = {
      id: rid('evt', 24),
      object: 'event',
      api_version: API_VERSION,
      created,
      data,
      livemode: false,
      pending_webhooks: 1,
      request: { id: rid('req', 14), idempotency_key: rid('ik', 20) },
      type,
    };
    const payload = JSON.stringify(event);
    out.push({
      id: event.id,
      type,
      objectId: data.object.id as string,
      objectType: data.object.object as string,
      created,
      body: Buffer.from(payload),
      signature: Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: now }),
    });
  }
  return out;
}
