/**
 * Checkout Sessions through the official SDK: payment and setup modes, declines, 3-D Secure,
 * expiry by API and by time, line items, the hosted page, the payment_pages API, and the
 * webhooks a merchant receives (verified with stripe.webhooks.constructEvent).
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  eventually,
  startTestEmulator,
  startWebhookReceiver,
  type TestEmulator,
  type WebhookReceiver,
} from './helpers.ts';

const SECRET = 'whsec_checkout_tests';
let t: TestEmulator;
let receiver: WebhookReceiver;
let price: Stripe.Price;
let product: Stripe.Product;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  t = await startTestEmulator({ webhookEndpoints: [{ url: receiver.url, secret: SECRET }] });
  product = await t.stripe.products.create({ name: 'Widget' });
  price = await t.stripe.prices.create({ product: product.id, unit_amount: 1500, currency: 'usd' });
});
beforeEach(() => {
  receiver.received.length = 0;
});
afterAll(async () => {
  await t.stop();
  await receiver.close();
});

async function errorOf(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (err) {
    return err as Stripe.errors.StripeError;
  }
  throw new Error('expected the call to fail');
}

/** What Stripe.js / the Stripe CLI send when the customer pays. */
function confirm(sessionId: string, params: Record<string, unknown>) {
  return t.stripe.rawRequest('POST', `/v1/payment_pages/${sessionId}/confirm`, params) as Promise<{
    status: string;
    payment_status: string;
    payment_intent: Stripe.PaymentIntent | null;
  }>;
}

/** Events about one object (by id), oldest first. */
async function eventsFor(id: string): Promise<Stripe.Event[]> {
  const list = await t.stripe.events.list({ limit: 100 });
  return list.data.filter((e) => (e.data.object as { id?: string }).id === id).reverse();
}

function paymentSession(extra: Partial<Stripe.Checkout.SessionCreateParams> = {}) {
  return t.stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [{ price: price.id, quantity: 2 }],
    success_url: 'https://shop.test/thanks?session={CHECKOUT_SESSION_ID}',
    cancel_url: 'https://shop.test/cart',
    ...extra,
  });
}

describe('payment mode', () => {
  test('an open session, then paid: PaymentIntent for the line-item total and the events', async () => {
    const session = await paymentSession({
      client_reference_id: 'order_42',
      metadata: { order: '42' },
      customer_email: 'buyer@example.com',
      payment_intent_data: { metadata: { order: '42' }, description: 'Order 42' },
    });
    expect(session).toMatchObject({
      object: 'checkout.session',
      mode: 'payment',
      status: 'open',
      payment_status: 'unpaid',
      amount_subtotal: 3000,
      amount_total: 3000,
      currency: 'usd',
      payment_intent: null,
      customer: null,
      customer_creation: 'if_required',
      client_reference_id: 'order_42',
      metadata: { order: '42' },
      ui_mode: 'hosted_page',
      total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    });
    expect(session.id).toMatch(/^cs_test_/);
    expect(session.url).toBe(`${t.emulator.url}/c/pay/${session.id}`);
    expect(session.expires_at - session.created).toBe(86_400);
    expect(session).not.toHaveProperty('line_items');

    const page = await confirm(session.id, { payment_method: 'pm_card_visa', expected_amount: 3000 });
    expect(page).toMatchObject({ status: 'complete', payment_status: 'paid' });

    const paid = await t.stripe.checkout.sessions.retrieve(session.id, { expand: ['payment_intent'] });
    expect(paid).toMatchObject({
      status: 'complete',
      payment_status: 'paid',
      url: null,
      customer_details: { email: 'buyer@example.com' },
    });
    const pi = paid.payment_intent as Stripe.PaymentIntent;
    expect(pi).toMatchObject({
      status: 'succeeded',
      amount: 3000,
      amount_received: 3000,
      currency: 'usd',
      metadata: { order: '42' },
      description: 'Order 42',
    });

    const types = (await eventsFor(pi.id)).map((e) => e.type);
    expect(types).toEqual(['payment_intent.created', 'payment_intent.succeeded']);
    const charge = await t.stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({ amount: 3000, paid: true, status: 'succeeded' });
    const sessionEvents = await eventsFor(session.id);
    expect(sessionEvents.map((e) => e.type)).toEqual(['checkout.session.completed']);
    // Causal order: the completion follows the payment.
    const all = (await t.stripe.events.list({ limit: 100 })).data.reverse();
    const index = (type: string, id: string) =>
      all.findIndex((e) => e.type === type && (e.data.object as { id: string }).id === id);
    expect(index('charge.succeeded', charge.id)).toBeGreaterThan(index('payment_intent.created', pi.id));
    expect(index('checkout.session.completed', session.id)).toBeGreaterThan(
      index('payment_intent.succeeded', pi.id),
    );

    // Every delivered webhook verifies with the endpoint secret.
    const delivered = await receiver.waitFor(4, (w) =>
      [pi.id, charge.id, session.id].includes((w.event.data.object as { id: string }).id),
    );
    for (const webhook of delivered) {
      const event = Stripe.webhooks.constructEvent(
        webhook.body,
        webhook.headers['stripe-signature'] as string,
        SECRET,
      );
      expect(event.id).toMatch(/^evt_/);
    }
    const completed = delivered.find((w) => w.event.type === 'checkout.session.completed')!.event;
    expect(completed.data.object).toMatchObject({
      id: session.id,
      status: 'complete',
      payment_status: 'paid',
      payment_intent: pi.id,
      amount_total: 3000,
    });
  });

  test('a declined card answers 402 and the session stays open; another card then pays', async () => {
    const session = await paymentSession();
    const err = await errorOf(confirm(session.id, { payment_method: 'pm_card_chargeDeclined' }));
    expect(err).toMatchObject({ statusCode: 402, type: 'StripeCardError', code: 'card_declined' });
    const open = await t.stripe.checkout.sessions.retrieve(session.id);
    expect(open).toMatchObject({ status: 'open', payment_status: 'unpaid' });
    expect(open.url).not.toBeNull();
    expect((await eventsFor(session.id)).map((e) => e.type)).toEqual([]);
    const failedPi = await t.stripe.paymentIntents.retrieve(open.payment_intent as string);
    expect(failedPi).toMatchObject({
      status: 'requires_payment_method',
      last_payment_error: { code: 'card_declined' },
    });

    await confirm(session.id, { payment_method: 'pm_card_mastercard' });
    const paid = await t.stripe.checkout.sessions.retrieve(session.id);
    expect(paid).toMatchObject({ status: 'complete', payment_status: 'paid', payment_intent: failedPi.id });
    // Completing twice is refused.
    const again = await errorOf(confirm(session.id, { payment_method: 'pm_card_visa' }));
    expect(again.statusCode).toBe(400);
  });

  test('card details instead of a PaymentMethod, expected_amount must match', async () => {
    const session = await paymentSession();
    const mismatch = await errorOf(
      confirm(session.id, { payment_method: 'pm_card_visa', expected_amount: 100 }),
    );
    expect(mismatch).toMatchObject({ statusCode: 400, param: 'expected_amount' });
    await confirm(session.id, {
      payment_method_data: {
        type: 'card',
        card: { number: '4242424242424242', exp_month: 12, exp_year: 2040, cvc: '123' },
        billing_details: { email: 'card@example.com', name: 'Card Holder' },
      },
      expected_amount: 3000,
    });
    const paid = await t.stripe.checkout.sessions.retrieve(session.id);
    expect(paid).toMatchObject({
      status: 'complete',
      customer_details: { email: 'card@example.com', name: 'Card Holder' },
    });
  });

  test('3-D Secure: the session completes once the customer authenticates', async () => {
    const session = await paymentSession();
    const page = await confirm(session.id, { payment_method: 'pm_card_authenticationRequired' });
    expect(page.status).toBe('open');
    expect(page.payment_intent?.status).toBe('requires_action');
    expect((await t.stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
    t.emulator.control.authenticate(page.payment_intent!.id, 'succeed');
    const done = await t.stripe.checkout.sessions.retrieve(session.id);
    expect(done).toMatchObject({ status: 'complete', payment_status: 'paid' });
    const completed = (await eventsFor(session.id)).find((e) => e.type === 'checkout.session.completed');
    expect(completed?.request).toBeNull();
  });

  test('customer_creation=always creates the customer on completion', async () => {
    const session = await paymentSession({ customer_creation: 'always', customer_email: 'new@example.com' });
    await confirm(session.id, { payment_method: 'pm_card_visa' });
    const done = await t.stripe.checkout.sessions.retrieve(session.id, { expand: ['customer'] });
    const customer = done.customer as Stripe.Customer;
    expect(customer).toMatchObject({ object: 'customer', email: 'new@example.com' });
    expect((await t.stripe.paymentIntents.retrieve(done.payment_intent as string)).customer).toBe(
      customer.id,
    );
  });

  test('discounts: a coupon reduces the PaymentIntent amount and is redeemed', async () => {
    const coupon = await t.stripe.coupons.create({ percent_off: 10, duration: 'once' });
    const session = await paymentSession({ discounts: [{ coupon: coupon.id }] });
    expect(session).toMatchObject({
      amount_subtotal: 3000,
      amount_total: 2700,
      total_details: { amount_discount: 300 },
      discounts: [{ coupon: coupon.id, promotion_code: null }],
    });
    const items = await t.stripe.checkout.sessions.listLineItems(session.id);
    expect(items.data[0]).toMatchObject({ amount_subtotal: 3000, amount_discount: 300, amount_total: 2700 });
    await confirm(session.id, { payment_method: 'pm_card_visa', expected_amount: 2700 });
    const done = await t.stripe.checkout.sessions.retrieve(session.id, { expand: ['payment_intent'] });
    expect((done.payment_intent as Stripe.PaymentIntent).amount).toBe(2700);
    expect((await t.stripe.coupons.retrieve(coupon.id)).times_redeemed).toBe(1);
    const both = await errorOf(
      paymentSession({ discounts: [{ coupon: coupon.id }], allow_promotion_codes: true }),
    );
    expect(both.statusCode).toBe(400);
  });
});

describe('line items', () => {
  test('price and price_data with product_data; listed, paginated and expandable', async () => {
    const session = await t.stripe.checkout.sessions.create({
      mode: 'payment',
      success_url: 'https://shop.test/ok',
      line_items: [
        { price: price.id, quantity: 1, adjustable_quantity: { enabled: true, minimum: 1, maximum: 5 } },
        {
          price_data: { currency: 'usd', unit_amount: 250, product_data: { name: 'Gift wrap' } },
          quantity: 3,
          metadata: { kind: 'extra' },
        },
      ],
    });
    expect(session.amount_total).toBe(1500 + 750);
    const all = await t.stripe.checkout.sessions.listLineItems(session.id);
    expect(all.url).toBe(`/v1/checkout/sessions/${session.id}/line_items`);
    expect(all.data.map((i) => [i.description, i.quantity, i.amount_total])).toEqual([
      ['Widget', 1, 1500],
      ['Gift wrap', 3, 750],
    ]);
    expect(all.data[0]).toMatchObject({
      object: 'item',
      currency: 'usd',
      price: { id: price.id, object: 'price', unit_amount: 1500 },
      adjustable_quantity: { enabled: true, minimum: 1, maximum: 5 },
    });
    expect(all.data[0]!.id).toMatch(/^li_/);
    const inline = all.data[1]!.price!;
    expect(inline).toMatchObject({ unit_amount: 250, active: false, type: 'one_time' });
    expect((await t.stripe.products.retrieve(inline.product as string)).name).toBe('Gift wrap');
    expect(all.data[1]!.metadata).toEqual({ kind: 'extra' });

    const page1 = await t.stripe.checkout.sessions.listLineItems(session.id, { limit: 1 });
    expect(page1).toMatchObject({ has_more: true });
    const page2 = await t.stripe.checkout.sessions.listLineItems(session.id, {
      limit: 1,
      starting_after: page1.data[0]!.id,
    });
    expect(page2.data.map((i) => i.description)).toEqual(['Gift wrap']);

    const expanded = await t.stripe.checkout.sessions.retrieve(session.id, {
      expand: ['line_items', 'line_items.data.price.product'],
    });
    expect(expanded.line_items?.data).toHaveLength(2);
    expect((expanded.line_items!.data[0]!.price!.product as Stripe.Product).name).toBe('Widget');
  });

  test("Stripe's validation of line items and parameters", async () => {
    const monthly = await t.stripe.prices.create({
      product: product.id,
      unit_amount: 900,
      currency: 'usd',
      recurring: { interval: 'month' },
    });
    const cases: [Stripe.Checkout.SessionCreateParams, string | undefined][] = [
      [{ mode: 'payment', line_items: [{ price: monthly.id, quantity: 1 }] }, 'line_items[0][price]'],
      [{ mode: 'subscription', line_items: [{ price: price.id, quantity: 1 }] }, 'line_items'],
      [{ mode: 'payment', line_items: [{ price: price.id }] }, 'line_items[0][quantity]'],
      [{ mode: 'payment' }, 'line_items'],
      [{ mode: 'setup', line_items: [{ price: price.id, quantity: 1 }] }, 'line_items'],
      [{ mode: 'setup' }, 'currency'],
      [{ mode: 'payment', line_items: [{ price: 'price_missing', quantity: 1 }] }, 'line_items[0][price]'],
      [
        {
          mode: 'payment',
          line_items: [{ price: price.id, quantity: 1 }],
          customer: 'cus_x',
          customer_email: 'a@b.c',
        },
        'customer',
      ],
      [
        {
          mode: 'payment',
          line_items: [{ price: price.id, quantity: 1 }],
          expires_at: Math.floor(Date.now() / 1000) + 60,
        },
        'expires_at',
      ],
      [
        {
          mode: 'payment',
          line_items: [{ price: price.id, quantity: 1 }],
          expires_at: Math.floor(Date.now() / 1000) + 25 * 3600,
        },
        'expires_at',
      ],
      [
        {
          mode: 'payment',
          line_items: [{ price: price.id, quantity: 1 }],
          subscription_data: { trial_period_days: 3 },
        },
        'subscription_data',
      ],
      [
        { mode: 'payment', line_items: [{ price: price.id, quantity: 1 }], success_url: 'not a url' },
        'success_url',
      ],
    ];
    for (const [params, param] of cases) {
      const err = await errorOf(t.stripe.checkout.sessions.create(params));
      expect({ status: err.statusCode, param: err.param }).toEqual({
        status: err.statusCode === 404 ? 404 : 400,
        param,
      });
    }
    // Nothing was created by the failed calls (inline prices come after validation).
    const cheap = await t.stripe.prices.create({ product: product.id, unit_amount: 10, currency: 'usd' });
    const tooSmall = await errorOf(
      t.stripe.checkout.sessions.create({ mode: 'payment', line_items: [{ price: cheap.id, quantity: 1 }] }),
    );
    expect(tooSmall).toMatchObject({ statusCode: 400, code: 'amount_too_small' });
  });
});

describe('setup mode', () => {
  test('the card is saved on the customer through a SetupIntent', async () => {
    const customer = await t.stripe.customers.create({ email: 'setup@example.com' });
    const session = await t.stripe.checkout.sessions.create({
      mode: 'setup',
      currency: 'usd',
      customer: customer.id,
      success_url: 'https://shop.test/saved',
      setup_intent_data: { metadata: { purpose: 'future' } },
    });
    expect(session).toMatchObject({
      status: 'open',
      payment_status: 'no_payment_required',
      amount_total: null,
      setup_intent: null,
      customer: customer.id,
    });
    await confirm(session.id, { payment_method: 'pm_card_visa' });
    const done = await t.stripe.checkout.sessions.retrieve(session.id, { expand: ['setup_intent'] });
    expect(done).toMatchObject({
      status: 'complete',
      payment_status: 'no_payment_required',
      customer: customer.id,
    });
    const si = done.setup_intent as Stripe.SetupIntent;
    expect(si).toMatchObject({ status: 'succeeded', customer: customer.id, metadata: { purpose: 'future' } });
    const pms = await t.stripe.customers.listPaymentMethods(customer.id);
    expect(pms.data.map((pm) => pm.id)).toEqual([si.payment_method]);
    const types = (await t.stripe.events.list({ limit: 20 })).data.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'setup_intent.created',
        'payment_method.attached',
        'setup_intent.succeeded',
        'checkout.session.completed',
      ]),
    );
  });

  test('a card that cannot be set up is refused and the session stays open', async () => {
    const customer = await t.stripe.customers.create();
    const session = await t.stripe.checkout.sessions.create({
      mode: 'setup',
      currency: 'usd',
      customer: customer.id,
    });
    const err = await errorOf(confirm(session.id, { payment_method: 'pm_card_chargeDeclined' }));
    expect(err).toMatchObject({ statusCode: 402, code: 'card_declined' });
    expect((await t.stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
    expect((await t.stripe.customers.listPaymentMethods(customer.id)).data).toHaveLength(0);
  });
});

describe('expiry', () => {
  test('expire by API: checkout.session.expired; an expired session cannot be paid or expired again', async () => {
    const session = await paymentSession();
    const expired = await t.stripe.checkout.sessions.expire(session.id);
    expect(expired).toMatchObject({ status: 'expired', url: null, payment_status: 'unpaid' });
    const [event] = await eventsFor(session.id);
    expect(event).toMatchObject({
      type: 'checkout.session.expired',
      data: { object: { status: 'expired' } },
    });
    expect(event!.request?.id).toMatch(/^req_/);
    expect((await errorOf(t.stripe.checkout.sessions.expire(session.id))).statusCode).toBe(400);
    expect((await errorOf(confirm(session.id, { payment_method: 'pm_card_visa' }))).statusCode).toBe(400);
  });

  test('expiry at expires_at when the global clock passes it; the open PaymentIntent is canceled', async () => {
    const created = await paymentSession({ expires_at: Math.floor(Date.now() / 1000) + 3600 });
    // A declined attempt leaves a PaymentIntent behind.
    await errorOf(confirm(created.id, { payment_method: 'pm_card_chargeDeclined' }));
    const untouched = await paymentSession();
    t.emulator.control.advanceTime({ seconds: 3601 });
    const after = await t.stripe.checkout.sessions.retrieve(created.id);
    expect(after.status).toBe('expired');
    expect((await t.stripe.checkout.sessions.retrieve(untouched.id)).status).toBe('open');
    const [event] = await eventsFor(created.id);
    expect(event).toMatchObject({ type: 'checkout.session.expired', request: null });
    const pi = await t.stripe.paymentIntents.retrieve(after.payment_intent as string);
    expect(pi).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned' });
    const list = await t.stripe.checkout.sessions.list({ status: 'expired', limit: 100 });
    expect(list.data.map((s) => s.id)).toContain(created.id);
  });

  test("on the customer's test clock: created and expired in the clock's time", async () => {
    const clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: 1_700_000_000 });
    const customer = await t.stripe.customers.create({ test_clock: clock.id });
    const session = await paymentSession({ customer: customer.id });
    expect(session.created).toBe(1_700_000_000);
    expect(session.expires_at).toBe(1_700_000_000 + 86_400);
    await t.stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: 1_700_000_000 + 86_401 });
    await eventually(
      async () => (await t.stripe.testHelpers.testClocks.retrieve(clock.id)).status === 'ready',
    );
    const after = await t.stripe.checkout.sessions.retrieve(session.id);
    expect(after.status).toBe('expired');
    const [event] = await eventsFor(session.id);
    expect(event).toMatchObject({ type: 'checkout.session.expired', created: 1_700_000_000 + 86_400 });
  });
});

describe('hosted page', () => {
  test('GET shows the items and a card form; POSTing it pays and redirects to success_url', async () => {
    const session = await paymentSession({ customer_email: 'page@example.com' });
    const html = await fetch(session.url!).then((r) => r.text());
    expect(html).toContain('Widget');
    expect(html).toContain('30.00 USD');
    expect(html).toContain('name="card_number"');
    expect(html).toContain('page@example.com');

    const declined = await fetch(session.url!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        email: 'page@example.com',
        card_number: '4000 0000 0000 0002',
        exp: '12/40',
        cvc: '123',
      }),
      redirect: 'manual',
    });
    expect(declined.status).toBe(402);
    expect(await declined.text()).toContain('Your card was declined');

    const paid = await fetch(session.url!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        email: 'page@example.com',
        name: 'Page Payer',
        card_number: '4242 4242 4242 4242',
        exp: '12/40',
        cvc: '123',
      }),
      redirect: 'manual',
    });
    expect(paid.status).toBe(302);
    expect(paid.headers.get('location')).toBe(`https://shop.test/thanks?session=${session.id}`);
    const done = await t.stripe.checkout.sessions.retrieve(session.id);
    expect(done).toMatchObject({
      status: 'complete',
      customer_details: { name: 'Page Payer', email: 'page@example.com' },
    });
    expect(await fetch(session.url!).then((r) => r.text())).toContain('Thanks for your order');
  });

  test('a 3-D Secure card on the page goes through the 3DS page and comes back completed', async () => {
    const session = await paymentSession();
    const form = { email: 'sca@example.com', card_number: '4000 0027 6000 3184', exp: '12/40', cvc: '123' };
    const posted = await fetch(session.url!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
      redirect: 'manual',
    });
    expect(posted.status).toBe(302);
    const challenge = new URL(posted.headers.get('location')!, t.emulator.url);
    expect(challenge.pathname).toMatch(/^\/_emulator\/3ds\/pi_/);
    expect(challenge.searchParams.get('return_url')).toBe(session.url);
    const page = await fetch(challenge).then((r) => r.text());
    expect(page).toContain('Complete authentication');
    const completed = await fetch(`${t.emulator.url}${challenge.pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ outcome: 'succeed', return_url: session.url! }),
      redirect: 'manual',
    });
    expect(completed.status).toBe(302);
    const back = completed.headers.get('location')!;
    expect(back.startsWith(session.url!)).toBe(true);
    expect(await fetch(back).then((r) => r.text())).toContain('Thanks for your order');
    expect(await t.stripe.checkout.sessions.retrieve(session.id)).toMatchObject({
      status: 'complete',
      payment_status: 'paid',
    });
  });

  test('unknown sessions are 404; the payment_pages API needs a key', async () => {
    expect((await fetch(`${t.emulator.url}/c/pay/cs_test_nope`)).status).toBe(404);
    const session = await paymentSession();
    const noKey = await fetch(`${t.emulator.url}/v1/payment_pages/${session.id}`);
    expect(noKey.status).toBe(401);
    const page = (await t.client('pk_test_123').rawRequest('GET', `/v1/payment_pages/${session.id}`, {})) as {
      amount_total: number;
      line_items: { data: unknown[] };
    };
    expect(page).toMatchObject({ amount_total: 3000, line_items: { data: [expect.anything()] } });
  });
});

describe('snapshots', () => {
  test('an open session and its expiry job survive snapshot and restore', async () => {
    const other = await startTestEmulator();
    try {
      const p = await other.stripe.products.create({ name: 'Snap' });
      const pr = await other.stripe.prices.create({ product: p.id, unit_amount: 700, currency: 'usd' });
      const session = await other.stripe.checkout.sessions.create({
        mode: 'payment',
        line_items: [{ price: pr.id, quantity: 1 }],
      });
      const snapshot = JSON.parse(JSON.stringify(other.emulator.control.snapshot()));
      other.emulator.control.reset();
      expect((await errorOf(other.stripe.checkout.sessions.retrieve(session.id))).statusCode).toBe(404);
      other.emulator.control.restore(snapshot);
      const items = await other.stripe.checkout.sessions.listLineItems(session.id);
      expect(items.data.map((i) => i.amount_total)).toEqual([700]);
      other.emulator.control.advanceTime({ seconds: 86_401 });
      expect((await other.stripe.checkout.sessions.retrieve(session.id)).status).toBe('expired');
    } finally {
      await other.stop();
    }
  });
});
