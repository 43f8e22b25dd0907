/**
 * Customer portal: configurations (default created on first need, create, update, list),
 * sessions (url, return_url, flows) and the billing_portal.session.created event.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  startTestEmulator,
  startWebhookReceiver,
  type TestEmulator,
  type WebhookReceiver,
} from './helpers.ts';

const SECRET = 'whsec_portal_tests';
let t: TestEmulator;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  t = await startTestEmulator({ webhookEndpoints: [{ url: receiver.url, secret: SECRET }] });
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

describe('configurations', () => {
  test('a default configuration exists once needed; created ones start with features off', async () => {
    const defaults = await t.stripe.billingPortal.configurations.list({ is_default: true });
    expect(defaults.data).toHaveLength(1);
    const def = defaults.data[0]!;
    expect(def).toMatchObject({
      object: 'billing_portal.configuration',
      active: true,
      is_default: true,
      features: {
        invoice_history: { enabled: true },
        payment_method_update: { enabled: true },
        subscription_cancel: { enabled: true, mode: 'at_period_end' },
        subscription_update: { enabled: false },
      },
    });
    expect(def.id).toMatch(/^bpc_/);
    // Asking again does not create another.
    expect((await t.stripe.billingPortal.configurations.list({ is_default: true })).data).toHaveLength(1);

    const created = await t.stripe.billingPortal.configurations.create({
      business_profile: { headline: 'Acme billing', privacy_policy_url: 'https://acme.test/privacy' },
      default_return_url: 'https://acme.test/account',
      features: { invoice_history: { enabled: true } },
      metadata: { team: 'billing' },
    });
    expect(created).toMatchObject({
      is_default: false,
      active: true,
      default_return_url: 'https://acme.test/account',
      business_profile: { headline: 'Acme billing', privacy_policy_url: 'https://acme.test/privacy' },
      features: {
        invoice_history: { enabled: true },
        subscription_cancel: { enabled: false },
        customer_update: { enabled: false },
      },
      metadata: { team: 'billing' },
      login_page: { enabled: false, url: null },
    });
    expect(await t.stripe.billingPortal.configurations.retrieve(created.id)).toEqual(created);
  });

  test('subscription_cancel and subscription_update features, with Stripe checks on products', async () => {
    const product = await t.stripe.products.create({ name: 'Pro' });
    const monthly = await t.stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 2000,
      recurring: { interval: 'month' },
    });
    const oneOff = await t.stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 500 });
    const config = await t.stripe.billingPortal.configurations.create({
      features: {
        subscription_cancel: { enabled: true, mode: 'immediately', proration_behavior: 'create_prorations' },
        subscription_update: {
          enabled: true,
          default_allowed_updates: ['price', 'quantity'],
          products: [{ product: product.id, prices: [monthly.id] }],
          proration_behavior: 'always_invoice',
        },
      },
    });
    expect(config.features.subscription_cancel).toMatchObject({
      enabled: true,
      mode: 'immediately',
      proration_behavior: 'create_prorations',
    });
    expect(config.features.subscription_update).toMatchObject({
      enabled: true,
      default_allowed_updates: ['price', 'quantity'],
      products: [{ product: product.id, prices: [monthly.id] }],
      proration_behavior: 'always_invoice',
    });

    const notRecurring = await errorOf(
      t.stripe.billingPortal.configurations.create({
        features: {
          subscription_update: {
            enabled: true,
            default_allowed_updates: ['price'],
            products: [{ product: product.id, prices: [oneOff.id] }],
          },
        },
      }),
    );
    expect(notRecurring).toMatchObject({
      statusCode: 400,
      param: 'features[subscription_update][products][0][prices][0]',
    });
    const noProducts = await errorOf(
      t.stripe.billingPortal.configurations.create({
        features: { subscription_update: { enabled: true, default_allowed_updates: ['price'] } },
      }),
    );
    expect(noProducts).toMatchObject({ statusCode: 400, param: 'features[subscription_update][products]' });
    const missingFeatures = await errorOf(
      t.stripe.billingPortal.configurations.create({} as Stripe.BillingPortal.ConfigurationCreateParams),
    );
    expect(missingFeatures).toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'features' });
  });

  test('update merges features, emits configuration.updated; the default cannot be deactivated', async () => {
    const config = await t.stripe.billingPortal.configurations.create({
      features: { invoice_history: { enabled: true } },
    });
    const updated = await t.stripe.billingPortal.configurations.update(config.id, {
      features: { subscription_cancel: { enabled: true } },
      name: 'Self-serve',
    });
    expect(updated.features.invoice_history.enabled).toBe(true);
    expect(updated.features.subscription_cancel.enabled).toBe(true);
    expect(updated.name).toBe('Self-serve');
    const events = await t.stripe.events.list({ type: 'billing_portal.configuration.updated' });
    const event = events.data.find((e) => (e.data.object as { id: string }).id === config.id)!;
    expect(event.data.previous_attributes).toMatchObject({ name: null });

    const inactive = await t.stripe.billingPortal.configurations.update(config.id, { active: false });
    expect(inactive.active).toBe(false);
    const listed = await t.stripe.billingPortal.configurations.list({ active: false });
    expect(listed.data.map((c) => c.id)).toContain(config.id);
    const customer = await t.stripe.customers.create();
    const refused = await errorOf(
      t.stripe.billingPortal.sessions.create({ customer: customer.id, configuration: config.id }),
    );
    expect(refused).toMatchObject({ statusCode: 400, param: 'configuration' });

    const def = (await t.stripe.billingPortal.configurations.list({ is_default: true })).data[0]!;
    const err = await errorOf(t.stripe.billingPortal.configurations.update(def.id, { active: false }));
    expect(err).toMatchObject({ statusCode: 400, param: 'active' });
  });
});

describe('sessions', () => {
  test('create: url on the emulator, return_url, default configuration, signed event', async () => {
    const customer = await t.stripe.customers.create({ email: 'portal@example.com' });
    const session = await t.stripe.billingPortal.sessions.create({
      customer: customer.id,
      return_url: 'https://acme.test/account',
      locale: 'fr',
    });
    const def = (await t.stripe.billingPortal.configurations.list({ is_default: true })).data[0]!;
    expect(session).toMatchObject({
      object: 'billing_portal.session',
      customer: customer.id,
      configuration: def.id,
      return_url: 'https://acme.test/account',
      locale: 'fr',
      flow: null,
      livemode: false,
      url: `${t.emulator.url}/p/session/${session.id}`,
    });
    expect(session.id).toMatch(/^bps_/);
    const [webhook] = await receiver.waitFor(
      1,
      (w) =>
        w.event.type === 'billing_portal.session.created' &&
        (w.event.data.object as { id: string }).id === session.id,
    );
    const event = Stripe.webhooks.constructEvent(
      webhook!.body,
      webhook!.headers['stripe-signature'] as string,
      SECRET,
    );
    expect(event.data.object).toMatchObject({ id: session.id, customer: customer.id, url: session.url });
  });

  test('return_url falls back to the configuration; a named configuration is used', async () => {
    const customer = await t.stripe.customers.create();
    const config = await t.stripe.billingPortal.configurations.create({
      features: { invoice_history: { enabled: true } },
      default_return_url: 'https://acme.test/home',
    });
    const session = await t.stripe.billingPortal.sessions.create({
      customer: customer.id,
      configuration: config.id,
    });
    expect(session).toMatchObject({ configuration: config.id, return_url: 'https://acme.test/home' });
  });

  test('validation: customer, configuration, flows', async () => {
    const customer = await t.stripe.customers.create();
    expect(await errorOf(t.stripe.billingPortal.sessions.create({}))).toMatchObject({
      statusCode: 400,
      param: 'customer',
    });
    expect(await errorOf(t.stripe.billingPortal.sessions.create({ customer: 'cus_nope' }))).toMatchObject({
      statusCode: 404,
      param: 'customer',
    });
    expect(
      await errorOf(
        t.stripe.billingPortal.sessions.create({ customer: customer.id, configuration: 'bpc_nope' }),
      ),
    ).toMatchObject({ statusCode: 404, param: 'configuration' });
    expect(
      await errorOf(
        t.stripe.billingPortal.sessions.create({
          customer: customer.id,
          flow_data: { type: 'subscription_cancel' },
        }),
      ),
    ).toMatchObject({ statusCode: 400, param: 'flow_data[subscription_cancel]' });
    expect(
      await errorOf(
        t.stripe.billingPortal.sessions.create({
          customer: customer.id,
          flow_data: { type: 'subscription_cancel', subscription_cancel: { subscription: 'sub_nope' } },
        }),
      ),
    ).toMatchObject({ statusCode: 400, param: 'flow_data[subscription_cancel][subscription]' });

    const flow = await t.stripe.billingPortal.sessions.create({
      customer: customer.id,
      flow_data: {
        type: 'payment_method_update',
        after_completion: { type: 'redirect', redirect: { return_url: 'https://acme.test/done' } },
      },
    });
    expect(flow.flow).toMatchObject({
      type: 'payment_method_update',
      after_completion: { type: 'redirect', redirect: { return_url: 'https://acme.test/done' } },
      subscription_cancel: null,
    });
  });
});

describe('with subscriptions', () => {
  let price: Stripe.Price;
  beforeAll(async () => {
    const product = await t.stripe.products.create({ name: 'Team' });
    price = await t.stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 1200,
      recurring: { interval: 'month' },
      nickname: 'Team monthly',
    });
  });

  async function subscribed(email: string) {
    const customer = await t.stripe.customers.create({ email, payment_method: 'pm_card_visa' });
    const pm = (await t.stripe.customers.listPaymentMethods(customer.id)).data[0]!;
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      default_payment_method: pm.id,
    });
    expect(sub.status).toBe('active');
    return { customer, sub };
  }

  function cancelOnPage(
    session: Stripe.BillingPortal.Session,
    subscription: string,
    extra: Record<string, string> = {},
  ) {
    return fetch(`${session.url}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ subscription, ...extra }),
      redirect: 'manual',
    });
  }

  test('the page lists subscriptions and invoices; Cancel = cancel at period end like the API', async () => {
    const { customer, sub } = await subscribed('page@example.com');
    const session = await t.stripe.billingPortal.sessions.create({
      customer: customer.id,
      return_url: 'https://acme.test/account',
    });
    const html = await fetch(session.url).then((r) => r.text());
    expect(html).toContain(sub.id);
    expect(html).toContain('Team monthly');
    expect(html).toContain('Cancel subscription');
    expect(html).toContain('Invoices');
    expect(html).toContain('https://acme.test/account');

    const response = await cancelOnPage(session, sub.id);
    expect(response.status).toBe(200);
    const after = await t.stripe.subscriptions.retrieve(sub.id);
    expect(after).toMatchObject({ status: 'active', cancel_at_period_end: true });
    const updated = (
      await t.stripe.events.list({ type: 'customer.subscription.updated', limit: 100 })
    ).data.find((e) => (e.data.object as Stripe.Subscription).id === sub.id)!;
    expect(updated.data.previous_attributes).toMatchObject({ cancel_at_period_end: false });
    expect(updated.request).toBeNull();
    expect(await fetch(session.url).then((r) => r.text())).toContain('Cancels at period end');
  });

  test('mode=immediately cancels now (customer.subscription.deleted); other customers are refused', async () => {
    const { customer, sub } = await subscribed('now@example.com');
    const other = await subscribed('other@example.com');
    const config = await t.stripe.billingPortal.configurations.create({
      features: { subscription_cancel: { enabled: true, mode: 'immediately' } },
    });
    const session = await t.stripe.billingPortal.sessions.create({
      customer: customer.id,
      configuration: config.id,
    });
    expect((await cancelOnPage(session, other.sub.id)).status).toBe(404);
    expect((await t.stripe.subscriptions.retrieve(other.sub.id)).status).toBe('active');

    expect((await cancelOnPage(session, sub.id)).status).toBe(200);
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe('canceled');
    const deleted = (await t.stripe.events.list({ type: 'customer.subscription.deleted', limit: 100 })).data;
    expect(deleted.map((e) => (e.data.object as Stripe.Subscription).id)).toContain(sub.id);
  });

  test('a subscription_cancel flow: validated, shows that subscription, redirects after cancelling', async () => {
    const { customer, sub } = await subscribed('flow@example.com');
    const other = await subscribed('flow-other@example.com');
    const foreign = await errorOf(
      t.stripe.billingPortal.sessions.create({
        customer: customer.id,
        flow_data: { type: 'subscription_cancel', subscription_cancel: { subscription: other.sub.id } },
      }),
    );
    expect(foreign).toMatchObject({ statusCode: 400, param: 'flow_data[subscription_cancel][subscription]' });

    const session = await t.stripe.billingPortal.sessions.create({
      customer: customer.id,
      flow_data: {
        type: 'subscription_cancel',
        subscription_cancel: { subscription: sub.id },
        after_completion: { type: 'redirect', redirect: { return_url: 'https://acme.test/bye' } },
      },
    });
    expect(session.flow).toMatchObject({
      type: 'subscription_cancel',
      subscription_cancel: { subscription: sub.id, retention: null },
      after_completion: { type: 'redirect', redirect: { return_url: 'https://acme.test/bye' } },
    });
    const response = await cancelOnPage(session, sub.id);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('https://acme.test/bye');
    expect((await t.stripe.subscriptions.retrieve(sub.id)).cancel_at_period_end).toBe(true);

    // Already set to cancel: a new cancel flow is refused.
    const again = await errorOf(
      t.stripe.billingPortal.sessions.create({
        customer: customer.id,
        flow_data: { type: 'subscription_cancel', subscription_cancel: { subscription: sub.id } },
      }),
    );
    expect(again).toMatchObject({ statusCode: 400, param: 'flow_data[subscription_cancel][subscription]' });
  });

  test('subscription_update flow names a subscription of the customer', async () => {
    const { customer, sub } = await subscribed('update@example.com');
    const session = await t.stripe.billingPortal.sessions.create({
      customer: customer.id,
      flow_data: { type: 'subscription_update', subscription_update: { subscription: sub.id } },
    });
    expect(session.flow).toMatchObject({
      type: 'subscription_update',
      subscription_update: { subscription: sub.id },
    });
  });
});
