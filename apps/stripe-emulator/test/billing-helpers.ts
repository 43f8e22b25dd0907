/**
 * Shared setup for the billing tests: a customer on a test clock with a card, products and
 * monthly / yearly prices, clock advancing, and event lookups by object.
 */
import Stripe from 'stripe';
import { expect } from 'vitest';
import { eventually, type TestEmulator, type WebhookReceiver } from './helpers.ts';

export const WEBHOOK_SECRET = 'whsec_billing_tests_secret';

/** 2027-04-01T00:00:00Z: April has 30 days, so the first monthly period is 2 592 000 s. */
export const APRIL_1_2027 = 1_806_537_600;

export interface Catalog {
  product: Stripe.Product;
  basic: Stripe.Price; // $29 / month
  pro: Stripe.Price; // $79 / month
  proYearly: Stripe.Price; // $790 / year
}

export async function catalog(stripe: Stripe, name = 'Pro'): Promise<Catalog> {
  const product = await stripe.products.create({ name });
  const [basic, pro, proYearly] = await Promise.all([
    stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 2900,
      recurring: { interval: 'month' },
    }),
    stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 7900,
      recurring: { interval: 'month' },
    }),
    stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 79000,
      recurring: { interval: 'year' },
    }),
  ]);
  return { product, basic, pro, proYearly };
}

export interface Setup {
  clock: Stripe.TestHelpers.TestClock;
  customer: Stripe.Customer;
}

/** A customer on a fresh test clock, with `card` as invoice default (none if null). */
export async function customerOnClock(
  stripe: Stripe,
  card: string | null = 'pm_card_visa',
  frozenTime = APRIL_1_2027,
): Promise<Setup> {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: frozenTime });
  const customer = await stripe.customers.create({
    test_clock: clock.id,
    email: `c${Math.random().toString(36).slice(2)}@example.com`,
    ...(card ? { payment_method: card, invoice_settings: { default_payment_method: card } } : {}),
  });
  return { clock, customer };
}

/** Advance a test clock and wait until it is ready again. */
export async function advance(stripe: Stripe, clock: string, to: number): Promise<void> {
  await stripe.testHelpers.testClocks.advance(clock, { frozen_time: to });
  await eventually(async () => (await stripe.testHelpers.testClocks.retrieve(clock)).status === 'ready');
}

/** All events (oldest first) whose object is `id` or points at it. */
export async function eventsAbout(stripe: Stripe, ids: string[]): Promise<Stripe.Event[]> {
  const out: Stripe.Event[] = [];
  for await (const event of stripe.events.list({ limit: 100 })) {
    const o = event.data.object as unknown as Record<string, unknown>;
    const refs = [
      o.id,
      o.customer,
      o.subscription,
      o.invoice,
      o.payment_intent,
      (o.parent as { subscription_details?: { subscription?: string } } | null)?.subscription_details
        ?.subscription,
    ];
    if (refs.some((r) => typeof r === 'string' && ids.includes(r))) out.push(event);
  }
  return out.reverse();
}

export function types(events: Stripe.Event[]): string[] {
  return events.map((e) => e.type);
}

/** Every webhook delivered so far for these objects verifies with constructEvent. */
export function verifiedDeliveries(receiver: WebhookReceiver, ids: string[]): Stripe.Event[] {
  const out: Stripe.Event[] = [];
  for (const w of receiver.received) {
    const event = Stripe.webhooks.constructEvent(
      w.body,
      w.headers['stripe-signature'] as string,
      WEBHOOK_SECRET,
    );
    const o = event.data.object as unknown as Record<string, unknown>;
    const sub = (o.parent as { subscription_details?: { subscription?: string } } | null)
      ?.subscription_details?.subscription;
    if (
      [o.id, o.customer, o.subscription, o.invoice, sub].some((r) => typeof r === 'string' && ids.includes(r))
    ) {
      out.push(event);
    }
  }
  return out;
}

/** Assert `expected` appear in `actual` in this relative order (others may be in between). */
export function expectInOrder(actual: string[], expected: string[]): void {
  let at = 0;
  for (const type of actual) if (type === expected[at]) at++;
  expect({ actual, matched: expected.slice(0, at) }).toEqual({ actual, matched: expected });
}

export async function latestInvoice(stripe: Stripe, subscription: string): Promise<Stripe.Invoice> {
  const sub = await stripe.subscriptions.retrieve(subscription);
  return stripe.invoices.retrieve(sub.latest_invoice as string);
}

export function period(sub: Stripe.Subscription): { start: number; end: number } {
  const item = sub.items.data[0]!;
  return { start: item.current_period_start, end: item.current_period_end };
}

export type { TestEmulator };
