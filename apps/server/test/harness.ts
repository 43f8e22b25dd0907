import type { AddressInfo } from 'node:net';
import { type RunningEmulator, startEmulator } from '@tollgate/stripe-emulator';
import { SignJWT } from 'jose';
import { buildApp } from '../src/app.ts';
import { createClock } from '../src/clock.ts';
import type { Deps } from '../src/deps.ts';
import { loadEnv } from '../src/env.ts';
import { createJwtVerifier } from '../src/http/auth/jwt.ts';
import { createLogger } from '../src/http/logger.ts';
import { createMetrics, type Metrics } from '../src/http/observability.ts';
import type { App } from '../src/http/types.ts';
import { createWorker } from '../src/jobs/index.ts';
import { createApiKeyCache } from '../src/modules/api-keys/authenticateApiKey.ts';
import { createLiveHub } from '../src/modules/live/liveHub.ts';
import { createInboxProcessor } from '../src/modules/webhooks/inboxProcessor.ts';
import { createStripeClient } from '../src/stripe/createStripeClient.ts';
import { tasks } from '../src/tasks.ts';
import { createTestDatabase, type TestDatabase } from './testDatabase.ts';

export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdef0123456789';
export const TEST_STRIPE_KEY = 'sk_test_tollgate_tests_0000';
export const TEST_WEBHOOK_SECRET = 'whsec_tollgate_tests_000000000000000';
export const TEST_ADMIN_KEY = 'tg_sk_test_operator_key_0123456789abcdef';
export const TEST_ISSUER = 'https://idp.test';
export const TEST_AUDIENCE = 'tollgate-test';

export interface TestApp {
  app: App;
  url: string;
  deps: Deps;
  db: TestDatabase;
  /** The Stripe emulator this app talks to (its own, in-process, over HTTP). */
  emulator: RunningEmulator;
  /** Runs every background job that is due now (the worker is not polling in tests). */
  runJobs(): Promise<number>;
  /** Applies every stored Stripe event that is due (the inbox processor is not polling in tests). */
  processEvents(): Promise<number>;
  metrics: Metrics;
  /** Has the emulator deliver its events to this app's webhook endpoint (signed with TEST_WEBHOOK_SECRET). */
  enableStripeWebhooks(): { id: string; url: string; secret: string };
  /** Real HTTP against the listening app. */
  request(method: string, path: string, opts?: RequestOpts): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface RequestOpts {
  token?: string | undefined;
  body?: unknown;
  headers?: Record<string, string>;
  cookie?: string;
  /** Send `body` verbatim (for malformed JSON). */
  raw?: string;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
  body: any;
  text: string;
}

/** Starts the real app on an ephemeral port over a fresh database (PGlite or Postgres per TEST_DB). */
export async function startTestApp(
  envOverrides: Record<string, string> = {},
  /** `emulator`: share another app's Stripe (e.g. a second database syncing from the same Stripe). */
  opts: {
    emulator?: RunningEmulator;
    /** `db`: share another app's database (a second server process on the same Postgres); not disposed here. */
    db?: TestDatabase;
  } = {},
): Promise<TestApp> {
  const db = opts.db ?? (await createTestDatabase());
  const emulator = opts.emulator ?? (await startEmulator({ port: 0, log: () => {} }));
  const env = loadEnv({
    NODE_ENV: 'test',
    TOLLGATE_DEMO: 'false',
    LOG_LEVEL: 'silent',
    PORT: '0',
    TOLLGATE_ADMIN_KEY: TEST_ADMIN_KEY,
    JWT_SECRET: TEST_JWT_SECRET,
    JWT_ISSUER: TEST_ISSUER,
    JWT_AUDIENCE: TEST_AUDIENCE,
    STRIPE_API_BASE: emulator.url,
    STRIPE_SECRET_KEY: TEST_STRIPE_KEY,
    STRIPE_PUBLISHABLE_KEY: 'pk_test_tollgate_tests_0000',
    STRIPE_WEBHOOK_SECRETS: TEST_WEBHOOK_SECRET,
    ...envOverrides,
  });
  const deps: Deps = {
    env,
    database: db.database,
    clock: createClock(),
    logger: createLogger(env.LOG_LEVEL),
    jwt: createJwtVerifier(env),
    apiKeyCache: createApiKeyCache(),
    // Retries are the app's job (withStripeRetry), not the SDK's, so tests see exactly what we do.
    stripe: createStripeClient({ secretKey: TEST_STRIPE_KEY, apiBase: emulator.url, maxNetworkRetries: 0 }),
    live: createLiveHub(db.database),
  };
  const metrics = createMetrics();
  const app = await buildApp(deps, { dashboardDir: '/nonexistent', metrics });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  // Links minted by the server must point at this instance.
  deps.env.publicUrl = url;

  const worker = createWorker({
    database: db.database,
    clock: deps.clock,
    tasks,
    deps,
    pollIntervalMs: 60_000,
  });

  const inbox = createInboxProcessor(deps, metrics.webhook);

  const request: TestApp['request'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.cookie) headers.cookie = opts.cookie;
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(url + path, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {}
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  return {
    app,
    url,
    deps,
    db,
    emulator,
    runJobs: () => worker.runOnce(),
    processEvents: () => inbox.runOnce(),
    metrics,
    enableStripeWebhooks() {
      return emulator.control.addWebhookEndpoint({
        url: `${url}/v1/webhooks/stripe`,
        secret: TEST_WEBHOOK_SECRET,
      });
    },
    request,
    async close() {
      await app.close();
      await deps.live?.close();
      if (!opts.emulator) await emulator.stop();
      if (!opts.db) await db.dispose();
    },
  };
}

/** A user token as the host product's identity provider would issue it. */
export async function mintJwt(
  claims: Record<string, unknown>,
  opts: { secret?: string; issuer?: string; audience?: string; expiresIn?: string | number } = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(opts.issuer ?? TEST_ISSUER)
    .setAudience(opts.audience ?? TEST_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '10m')
    .sign(new TextEncoder().encode(opts.secret ?? TEST_JWT_SECRET));
}
