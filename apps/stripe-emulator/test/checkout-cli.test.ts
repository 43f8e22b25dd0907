/**
 * Stripe's own CLI fixtures for Checkout and the customer portal, run against the emulator
 * (`stripe trigger <event> --api-base ...`). A fixture only fails on an unexpected HTTP
 * error, so each case then checks the named event and the state of its object.
 * Checkout fixtures use the internal `GET /v1/payment_pages/{cs}` and
 * `POST /v1/payment_pages/{cs}/confirm` (payment_method + expected_amount).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, startTestEmulator, type TestEmulator } from './helpers.ts';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../../node_modules/.bin/stripe');

type Check = (object: Record<string, unknown>, t: TestEmulator) => Promise<void> | void;

const triggers: Record<string, Check> = {
  'checkout.session.completed': async (o, t) => {
    expect(o).toMatchObject({
      object: 'checkout.session',
      mode: 'payment',
      status: 'complete',
      payment_status: 'paid',
      amount_total: 3000,
      customer_details: { email: 'stripe@example.com', name: 'Jenny Rosen' },
    });
    const pi = await t.stripe.paymentIntents.retrieve(o.payment_intent as string);
    expect(pi).toMatchObject({ status: 'succeeded', amount: 3000, currency: 'usd' });
  },
  'checkout.session.expired': (o) =>
    expect(o).toMatchObject({
      object: 'checkout.session',
      status: 'expired',
      url: null,
      payment_status: 'unpaid',
    }),
  'billing_portal.session.created': async (o, t) => {
    expect(o).toMatchObject({
      object: 'billing_portal.session',
      url: expect.stringContaining('/p/session/bps_'),
    });
    const customer = await t.stripe.customers.retrieve(o.customer as string);
    expect(customer).toMatchObject({ description: '(created by Stripe CLI)' });
  },
  'payment_intent.succeeded': (o) =>
    expect(o).toMatchObject({ status: 'succeeded', amount_received: o.amount }),
};

let t: TestEmulator;
let home: string;
const outputs = new Map<string, { ok: boolean; output: string }>();

beforeAll(async () => {
  t = await startTestEmulator();
  home = mkdtempSync(join(tmpdir(), 'stripe-cli-home-'));
  const env = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    STRIPE_API_KEY: 'sk_test_xxxxxxxxxxxx',
    STRIPE_CLI_TELEMETRY_OPTOUT: '1',
    STRIPE_NO_AUTO_UPDATE: '1',
    STRIPE_CLI_NO_PLUGIN_AUTO_INSTALL: '1',
  };
  if (!existsSync(CLI)) return;
  await Promise.all(
    Object.keys(triggers).map(async (name) => {
      try {
        const { stdout, stderr } = await run(CLI, ['trigger', name, '--api-base', t.emulator.url], {
          env,
          timeout: 60_000,
        });
        outputs.set(name, { ok: true, output: stdout + stderr });
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        outputs.set(name, { ok: false, output: `${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}` });
      }
    }),
  );
}, 120_000);

afterAll(async () => {
  await t.stop();
  rmSync(home, { recursive: true, force: true });
});

describe.skipIf(!existsSync(CLI))('stripe trigger (checkout, portal) against the emulator', () => {
  test.each(Object.keys(triggers))('%s', async (name) => {
    const result = outputs.get(name)!;
    expect(result.output).toContain('Trigger succeeded');
    expect(result.ok).toBe(true);
    const events = await eventually(async () => {
      const list = await t.stripe.events.list({ type: name, limit: 100 });
      return list.data.length > 0 ? list.data : undefined;
    });
    const errors: unknown[] = [];
    for (const event of events as Stripe.Event[]) {
      try {
        await triggers[name]!(event.data.object as unknown as Record<string, unknown>, t);
        return;
      } catch (err) {
        errors.push(err);
      }
    }
    throw errors[0];
  });
});
