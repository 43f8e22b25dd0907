import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  eventually,
  startTestEmulator,
  startWebhookReceiver,
  type TestEmulator,
  type WebhookReceiver,
} from './helpers.ts';

const SECRET = 'whsec_test_secret_for_the_emulator';
let t: TestEmulator;
let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
  t = await startTestEmulator({ webhookEndpoints: [{ url: receiver.url, secret: SECRET }] });
});
beforeEach(() => {
  receiver.received.length = 0;
  t.emulator.control.clearFaults();
});
afterAll(async () => {
  await t.stop();
  await receiver.close();
});

const webhooks = Stripe.webhooks;

function customersIn(list: { event: Stripe.Event }[], email: string) {
  return list.filter((w) => (w.event.data.object as { email?: string }).email === email);
}

describe('webhook delivery', () => {
  test('events are POSTed signed; constructEvent verifies them', async () => {
    const customer = await t.stripe.customers.create({ email: 'hook@example.com' });
    const [delivery] = await receiver.waitFor(1, (w) => w.event.type === 'customer.created');
    const event = webhooks.constructEvent(
      delivery!.body,
      delivery!.headers['stripe-signature'] as string,
      SECRET,
    );
    expect(event).toMatchObject({
      object: 'event',
      type: 'customer.created',
      livemode: false,
      api_version: '2026-10-28.endive',
      pending_webhooks: 1,
      data: { object: { id: customer.id } },
    });
    expect(event.id).toMatch(/^evt_/);
    const signature = delivery!.headers['stripe-signature'] as string;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    // Wall-clock timestamp, even if the emulator clock was advanced.
    const ts = Number(/t=(\d+)/.exec(signature)![1]);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(60);
    expect(() => webhooks.constructEvent(delivery!.body, signature, 'whsec_wrong')).toThrow();
    await t.emulator.control.waitForDeliveries();
    expect((await t.stripe.events.retrieve(event.id)).pending_webhooks).toBe(0);
  });

  test('test-clock events are signed with wall time and still verify', async () => {
    const clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: 1_600_000_000 });
    const [delivery] = await receiver.waitFor(1, (w) => w.event.type === 'test_helpers.test_clock.created');
    expect(() =>
      webhooks.constructEvent(delivery!.body, delivery!.headers['stripe-signature'] as string, SECRET),
    ).not.toThrow();
    expect(delivery!.event.data.object).toMatchObject({ id: clock.id, frozen_time: 1_600_000_000 });
  });

  test('a failing receiver is retried with backoff until it answers 2xx', async () => {
    receiver.respondWith([500, 503]);
    await t.stripe.customers.create({ email: 'retry@example.com' });
    const [delivery] = await receiver.waitFor(
      1,
      (w) => (w.event.data.object as { email?: string }).email === 'retry@example.com',
    );
    await t.emulator.control.waitForDeliveries();
    const log = t.emulator.control.deliveries({ eventId: delivery!.event.id });
    expect(log).toHaveLength(1);
    expect(log[0]!.status).toBe('succeeded');
    expect(log[0]!.attempts.map((a) => a.status)).toEqual([500, 503, 200]);
    const overHttp = (await (
      await fetch(`${t.emulator.url}/_emulator/deliveries?event_id=${delivery!.event.id}`)
    ).json()) as unknown[];
    expect(overHttp).toHaveLength(1);
  });

  test('after the last retry the delivery is failed', async () => {
    receiver.respondWith([500, 500, 500, 500]);
    const customer = await t.stripe.customers.create({ email: 'fail@example.com' });
    await t.emulator.control.waitForDeliveries();
    const event = (await t.stripe.events.list({ type: 'customer.created', limit: 5 })).data.find(
      (e) => (e.data.object as Stripe.Customer).id === customer.id,
    )!;
    const [log] = t.emulator.control.deliveries({ eventId: event.id });
    expect(log!.status).toBe('failed');
    expect(log!.attempts).toHaveLength(4);
    expect(event.pending_webhooks).toBe(1);
  });

  test('enabled_events filters deliveries; endpoints CRUD; secret only on create', async () => {
    const other = await startWebhookReceiver();
    try {
      const endpoint = await t.stripe.webhookEndpoints.create({
        url: other.url,
        enabled_events: ['product.created', 'price.created'],
      });
      expect(endpoint.secret).toMatch(/^whsec_/);
      expect((await t.stripe.webhookEndpoints.retrieve(endpoint.id)).secret).toBeUndefined();
      await t.stripe.customers.create({ email: 'filtered@example.com' });
      await t.stripe.products.create({
        name: 'Hooked',
        default_price_data: { currency: 'usd', unit_amount: 100 },
      });
      await t.emulator.control.waitForDeliveries();
      expect(other.received.map((w) => w.event.type).sort()).toEqual(['price.created', 'product.created']);
      for (const w of other.received) {
        webhooks.constructEvent(w.body, w.headers['stripe-signature'] as string, endpoint.secret!);
      }
      const disabled = await t.stripe.webhookEndpoints.update(endpoint.id, { disabled: true });
      expect(disabled.status).toBe('disabled');
      await t.stripe.products.create({ name: 'Quiet' });
      await t.emulator.control.waitForDeliveries();
      expect(other.received).toHaveLength(2);
      expect((await t.stripe.webhookEndpoints.list()).data.map((e) => e.id)).toContain(endpoint.id);
      expect(await t.stripe.webhookEndpoints.del(endpoint.id)).toMatchObject({ deleted: true });
      await expect(
        t.stripe.webhookEndpoints.create({ url: 'not a url', enabled_events: ['*'] }),
      ).rejects.toMatchObject({ param: 'url' });
      await expect(
        t.stripe.webhookEndpoints.create({ url: other.url, enabled_events: ['price.*' as never] }),
      ).rejects.toMatchObject({ param: 'enabled_events[0]' });
    } finally {
      await other.close();
    }
  });
});

describe('webhook delivery faults', () => {
  test('drop: the delivery never arrives and is logged as dropped', async () => {
    t.emulator.control.injectWebhookFault({ kind: 'drop', count: 1, eventType: 'customer.created' });
    await t.stripe.customers.create({ email: 'dropped@example.com' });
    await t.stripe.customers.create({ email: 'kept@example.com' });
    await t.emulator.control.waitForDeliveries();
    expect(customersIn(receiver.received, 'dropped@example.com')).toHaveLength(0);
    expect(customersIn(receiver.received, 'kept@example.com')).toHaveLength(1);
    expect(
      t.emulator.control.deliveries({ eventType: 'customer.created' }).some((d) => d.status === 'dropped'),
    ).toBe(true);
  });

  test('duplicate: the same event arrives twice', async () => {
    t.emulator.control.injectWebhookFault({ kind: 'duplicate', count: 1 });
    await t.stripe.customers.create({ email: 'twice@example.com' });
    await t.emulator.control.waitForDeliveries();
    const got = customersIn(receiver.received, 'twice@example.com');
    expect(got).toHaveLength(2);
    expect(got[0]!.event.id).toBe(got[1]!.event.id);
  });

  test('reorder: held deliveries are released out of order', async () => {
    await fetch(`${t.emulator.url}/_emulator/webhook-faults`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'reorder', count: 3 }),
    });
    const created = [];
    for (const email of ['r1@example.com', 'r2@example.com', 'r3@example.com']) {
      created.push((await t.stripe.customers.create({ email })).id);
    }
    await eventually(async () => receiver.received.length >= 3);
    await t.emulator.control.waitForDeliveries();
    const order = receiver.received.map((w) => (w.event.data.object as Stripe.Customer).id);
    expect(new Set(order)).toEqual(new Set(created));
    expect(order).not.toEqual(created);
  });

  test('delay: the delivery arrives later', async () => {
    t.emulator.control.injectWebhookFault({ kind: 'delay', count: 1, delayMs: 300 });
    const started = Date.now();
    await t.stripe.customers.create({ email: 'late@example.com' });
    await receiver.waitFor(
      1,
      (w) => (w.event.data.object as { email?: string }).email === 'late@example.com',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });
});

describe('events API', () => {
  test('list filters: type with wildcard, types[], created range; retrieve', async () => {
    const product = await t.stripe.products.create({ name: 'Evented' });
    await t.stripe.products.update(product.id, { name: 'Evented 2' });
    const wildcard = await t.stripe.events.list({ type: 'product.*', limit: 100 });
    expect(new Set(wildcard.data.map((e) => e.type))).toEqual(
      new Set(['product.created', 'product.updated']),
    );
    const several = await t.stripe.events.list({
      types: ['product.updated', 'customer.created'],
      limit: 100,
    });
    expect(several.data.every((e) => ['product.updated', 'customer.created'].includes(e.type))).toBe(true);
    const newest = wildcard.data[0]!;
    expect(newest.type).toBe('product.updated');
    expect(newest.data.previous_attributes).toEqual({ name: 'Evented' });
    const inRange = await t.stripe.events.list({
      created: { gte: newest.created, lte: newest.created },
      limit: 100,
    });
    expect(inRange.data.map((e) => e.id)).toContain(newest.id);
    const future = await t.stripe.events.list({ created: { gt: newest.created + 1000 } });
    expect(future.data).toHaveLength(0);
    expect((await t.stripe.events.retrieve(newest.id)).id).toBe(newest.id);
    await expect(t.stripe.events.retrieve('evt_nope')).rejects.toMatchObject({ statusCode: 404 });
    await expect(t.stripe.events.list({ type: 'a', types: ['b'] })).rejects.toMatchObject({
      statusCode: 400,
    });
  });

  test('events carry the request id and idempotency key of the call that caused them', async () => {
    const customer = await t.stripe.customers.create(
      { email: 'req@example.com' },
      { idempotencyKey: 'evt-key-1' },
    );
    const event = (await t.stripe.events.list({ type: 'customer.created', limit: 10 })).data.find(
      (e) => (e.data.object as Stripe.Customer).id === customer.id,
    )!;
    expect(event.request).toEqual({ id: customer.lastResponse.requestId, idempotency_key: 'evt-key-1' });
  });
});
