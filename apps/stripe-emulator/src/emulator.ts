/**
 * startEmulator: wires store, clock, scheduler, modules, webhooks and the HTTP server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import type { Controls, WebhookEndpointSpec } from './control/controls.ts';
import { createControlHandler } from './control/http.ts';
import { applySnapshot, readSnapshotFile, takeSnapshot, writeSnapshotFile } from './control/snapshot.ts';
import { Clock } from './core/clock.ts';
import {
  DEFAULT_RETRY_SCHEDULE,
  type Emulator,
  type EventRequest,
  type WebhookTiming,
} from './core/context.ts';
import { randomAlphanumeric } from './core/ids.ts';
import { buildApp, type EmulatorModule } from './core/module.ts';
import { Scheduler } from './core/scheduler.ts';
import { Store } from './core/store.ts';
import { FaultList } from './http/faults.ts';
import { IdempotencyCache } from './http/idempotency.ts';
import { createListener, type RequestLogEntry } from './http/server.ts';
import { PINNED_API_VERSION } from './http/versions.ts';
import { modules } from './modules.ts';
import { DEFAULT_WEBHOOK_TIMING, WebhookDispatcher, WebhookEndpoints } from './webhooks/dispatcher.ts';

export interface EmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** The account's API version (rendered shapes always follow the pinned SDK). */
  apiVersion?: string;
  /** Endpoints registered at start and again after every reset. */
  webhookEndpoints?: WebhookEndpointSpec[];
  /** Load state from this JSON file at start (if present); save it on stop and on snapshot. */
  snapshotFile?: string;
  /** Invoice payment retry policy for the billing engine. */
  retrySchedule?: Partial<Emulator['settings']['retrySchedule']>;
  /** Webhook delivery timeout and retry delays (compress them in tests). */
  webhookTiming?: Partial<WebhookTiming>;
  /** Modules added after the built-in ones (tests, experiments). */
  extraModules?: EmulatorModule[];
  /** Called after every Stripe API response (method, path, status, params). */
  onRequest?: (entry: RequestLogEntry) => void;
  /** Where internal errors are reported (default: stderr). */
  log?: (message: string, extra?: Record<string, unknown>) => void;
}

export interface RunningEmulator {
  /** Base URL, e.g. http://127.0.0.1:12111 */
  url: string;
  port: number;
  host: string;
  control: Controls;
  /** An SDK client pointed at this emulator. */
  stripe(key?: string, config?: Stripe.StripeConfig): Stripe;
  /** The live state, for white-box tests and other in-process modules. */
  ctx: Emulator;
  stop(): Promise<void>;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? '127.0.0.1';
  const store = new Store();
  const clock = new Clock(store);
  const ctx = {
    store,
    clock,
    scheduler: new Scheduler(),
    app: buildApp([...modules, ...(options.extraModules ?? [])]),
    settings: { retrySchedule: { ...DEFAULT_RETRY_SCHEDULE, ...options.retrySchedule } },
    apiVersion: options.apiVersion ?? PINNED_API_VERSION,
    baseUrl: '',
    request: null as EventRequest | null,
    log: options.log ?? ((message, extra) => console.error('[stripe-emulator]', message, extra ?? '')),
    withRequest<T>(request: EventRequest | null, fn: () => T): T {
      const previous = ctx.request;
      ctx.request = request;
      try {
        return fn();
      } finally {
        ctx.request = previous;
      }
    },
  } as Emulator;
  ctx.webhooks = new WebhookDispatcher(ctx, { ...DEFAULT_WEBHOOK_TIMING, ...options.webhookTiming });

  const idempotency = new IdempotencyCache();
  const faults = new FaultList();

  const addWebhookEndpoint = (spec: WebhookEndpointSpec) => {
    const table = store.of(WebhookEndpoints);
    const secret = spec.secret ?? `whsec_${randomAlphanumeric(32)}`;
    const endpoint = table.insert(
      {
        id: table.newId(),
        object: 'webhook_endpoint',
        api_version: null,
        application: null,
        created: clock.now(),
        description: null,
        enabled_events: spec.enabled_events ?? ['*'],
        livemode: false,
        metadata: {},
        status: 'enabled',
        url: spec.url,
      },
      { secret },
    );
    return { id: endpoint.id, url: endpoint.url, secret };
  };
  const ensureConfiguredEndpoints = () => {
    const existing = new Set([...store.of(WebhookEndpoints).values()].map((e) => e.url));
    for (const spec of options.webhookEndpoints ?? []) if (!existing.has(spec.url)) addWebhookEndpoint(spec);
  };

  const controls: Controls = {
    reset() {
      store.clear();
      ctx.scheduler.clear();
      clock.offset = 0;
      ctx.settings = { retrySchedule: { ...DEFAULT_RETRY_SCHEDULE, ...options.retrySchedule } };
      idempotency.clear();
      faults.clear();
      ctx.webhooks.clear();
      ensureConfiguredEndpoints();
    },
    advanceTime({ seconds, to }) {
      const from = clock.now();
      const target = to ?? from + (seconds ?? 0);
      if (!Number.isFinite(target) || target < from) throw new Error('advance: time only moves forward');
      const jobsRun = ctx.scheduler.runDue(ctx, null, target, from);
      clock.offset += target - clock.now();
      return { now: clock.now(), jobsRun };
    },
    now: () => clock.now(),
    retrySchedule: () => ctx.settings.retrySchedule,
    setRetrySchedule(schedule) {
      ctx.settings.retrySchedule = { ...ctx.settings.retrySchedule, ...schedule };
      return ctx.settings.retrySchedule;
    },
    injectFault: (spec) => faults.add(spec),
    injectWebhookFault: (spec) => ctx.webhooks.addFault(spec),
    clearFaults() {
      faults.clear();
      ctx.webhooks.clearFaults();
    },
    deliveries: (filter = {}) =>
      ctx.webhooks.deliveries.filter(
        (d) =>
          (!filter.eventType || d.eventType === filter.eventType) &&
          (!filter.eventId || d.eventId === filter.eventId),
      ),
    waitForDeliveries: () => ctx.webhooks.idle(),
    snapshot() {
      const snapshot = takeSnapshot(ctx);
      if (options.snapshotFile) writeSnapshotFile(options.snapshotFile, snapshot);
      return snapshot;
    },
    restore(snapshot) {
      const data = snapshot ?? (options.snapshotFile ? readSnapshotFile(options.snapshotFile) : null);
      if (!data) throw new Error('restore: no snapshot given and no snapshot file to read');
      idempotency.clear();
      ctx.webhooks.clear();
      applySnapshot(ctx, data);
      ensureConfiguredEndpoints();
    },
    addWebhookEndpoint,
    authenticate(intentId, outcome = 'succeed') {
      const route = ctx.app.controlRoutes.find((r) => r.pattern === '/_emulator/authenticate/:id');
      if (!route) throw new Error('no module provides /_emulator/authenticate');
      return route.handler(ctx, { outcome }, { id: intentId });
    },
    pendingJobs: () => ctx.scheduler.pending(),
    jobFailures: () => ctx.scheduler.failures,
  };

  if (options.snapshotFile) {
    const saved = readSnapshotFile(options.snapshotFile);
    if (saved) applySnapshot(ctx, saved);
  }
  ensureConfiguredEndpoints();

  const server: Server = createServer(
    { keepAlive: true, keepAliveTimeout: 30_000 },
    createListener({
      ctx,
      idempotency,
      faults,
      control: createControlHandler(ctx, controls),
      onRequest: options.onRequest,
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  ctx.baseUrl = `http://${host}:${port}`;

  // Global-clock jobs also become due as wall time passes (a demo left running an hour).
  const ticker = setInterval(() => {
    try {
      ctx.scheduler.runDue(ctx, null, clock.now());
    } catch (err) {
      ctx.log('scheduler tick failed', { error: String(err) });
    }
  }, 1000);
  ticker.unref();

  let stopped = false;
  return {
    url: `http://${host}:${port}`,
    port,
    host,
    control: controls,
    ctx,
    stripe: (key = 'sk_test_emulator', config = {}) =>
      new Stripe(key, { host, port, protocol: 'http', ...config }),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      if (options.snapshotFile) writeSnapshotFile(options.snapshotFile, takeSnapshot(ctx));
      ctx.webhooks.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
