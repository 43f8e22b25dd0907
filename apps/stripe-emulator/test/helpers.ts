/**
 * Test harness: an emulator on an ephemeral port and an official SDK client pointed at it.
 *
 *   const t = await startTestEmulator();
 *   afterAll(() => t.stop());
 *   await t.stripe.customers.create({ email: 'a@b.c' });
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '../src/index.ts';

export interface TestEmulator {
  emulator: RunningEmulator;
  stripe: Stripe;
  /** A client with other settings (retries, publishable key, api version...). */
  client(key?: string, config?: Stripe.StripeConfig): Stripe;
  stop(): Promise<void>;
}

export async function startTestEmulator(options: EmulatorOptions = {}): Promise<TestEmulator> {
  const emulator = await startEmulator({
    webhookTiming: { retryDelaysMs: [50, 100, 200], timeoutMs: 2000 },
    ...options,
  });
  const client = (key = 'sk_test_123', config: Stripe.StripeConfig = {}) =>
    new Stripe(key, {
      host: '127.0.0.1',
      port: emulator.port,
      protocol: 'http',
      maxNetworkRetries: 0,
      ...config,
    });
  return { emulator, stripe: client(), client, stop: () => emulator.stop() };
}

export interface ReceivedWebhook {
  body: string;
  headers: IncomingHttpHeaders;
  event: Stripe.Event;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Status codes to answer with, in order; after they run out, 200. */
  respondWith(statuses: number[]): void;
  /** Resolves once `count` webhooks (optionally matching `filter`) have arrived. */
  waitFor(
    count: number,
    filter?: (w: ReceivedWebhook) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/** A tiny HTTP server that records every webhook POSTed to it. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let statuses: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = statuses.shift() ?? 200;
      if (status >= 200 && status < 300) {
        received.push({ body, headers: req.headers, event: JSON.parse(body) as Stripe.Event });
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    received,
    respondWith(list) {
      statuses = [...list];
    },
    async waitFor(count, filter = () => true, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const matching = received.filter(filter);
        if (matching.length >= count) return matching;
        if (Date.now() > deadline) {
          throw new Error(
            `expected ${count} webhooks, got ${matching.length}: ${received.map((w) => w.event.type)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Poll until `fn` returns a truthy value (for asynchronous effects like test clock advances). */
export async function eventually<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The events of a type (newest first), through the SDK. */
export async function eventsOfType(stripe: Stripe, type: string): Promise<Stripe.Event[]> {
  const list = await stripe.events.list({ type, limit: 100 });
  return list.data;
}
