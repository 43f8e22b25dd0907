import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { startEmulator } from '@tollgate/stripe-emulator';
import type { Env } from '../../env.ts';

export const DEMO_STRIPE_SECRET_KEY = 'sk_test_tollgate_demo_000000000000';
export const DEMO_WEBHOOK_SECRET = 'whsec_tollgate_demo_00000000000000000000';
export const DEMO_STRIPE_PUBLISHABLE_KEY = 'pk_test_tollgate_demo_000000000000';

/**
 * Demo mode: the Stripe emulator runs inside the Tollgate process, its state saved to a file so
 * a restarted demo keeps its customers and subscriptions. Tollgate then talks to it exactly as
 * it would to Stripe: over HTTP, through the official SDK.
 */
export async function startDemoEmulator(env: Env) {
  mkdirSync(dirname(env.EMULATOR_STATE_FILE), { recursive: true });
  const emulator = await startEmulator({
    port: env.EMULATOR_PORT,
    host: '127.0.0.1',
    snapshotFile: env.EMULATOR_STATE_FILE,
  });
  env.STRIPE_API_BASE = emulator.url;
  env.STRIPE_SECRET_KEY = DEMO_STRIPE_SECRET_KEY;
  env.STRIPE_PUBLISHABLE_KEY ??= DEMO_STRIPE_PUBLISHABLE_KEY;
  env.STRIPE_WEBHOOK_SECRETS ??= [DEMO_WEBHOOK_SECRET];
  return emulator;
}
