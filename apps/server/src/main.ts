import { buildApp } from './app.ts';
import { createClock } from './clock.ts';
import { createDatabase } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import type { Deps } from './deps.ts';
import { ConfigError, loadEnv } from './env.ts';
import { createJwtVerifier } from './http/auth/jwt.ts';
import { createLogger } from './http/logger.ts';
import { createMetrics, registerJobMetrics } from './http/observability.ts';
import { createWorker, jobStats } from './jobs/index.ts';
import { createApiKeyCache } from './modules/api-keys/authenticateApiKey.ts';
import type { Catalog } from './modules/catalog/catalogSchema.ts';
import { CatalogError, loadCatalog } from './modules/catalog/loadCatalog.ts';
import { pushCatalog } from './modules/catalog/pushCatalog.ts';
import { scheduleCreditExpiry } from './modules/credits/expireCreditsTask.ts';
import { DEMO_ORGS, demoOrgKey, seedDemo } from './modules/demo/seedDemo.ts';
import { DEMO_WEBHOOK_SECRET, startDemoEmulator } from './modules/demo/startDemoEmulator.ts';
import { createLiveHub } from './modules/live/liveHub.ts';
import { scheduleUsageReport } from './modules/metered-usage/reportUsageTask.ts';
import { scheduleDriftCheck } from './modules/reconciliation/driftTask.ts';
import { registerReconcileMetrics } from './modules/reconciliation/metrics.ts';
import { createInboxProcessor } from './modules/webhooks/inboxProcessor.ts';
import { createStripeClient } from './stripe/createStripeClient.ts';
import { tasks } from './tasks.ts';

/**
 * Process entry: env -> db -> migrate -> (demo: emulator + seed) -> http + worker.
 * TOLLGATE_ROLE splits the two halves across processes: `api` serves HTTP (the webhook endpoint
 * stores and acknowledges events) and runs no background work; `worker` runs the job worker and
 * the Stripe-event inbox processor without opening a port; `all` (default) does both.
 */
async function main() {
  let env: ReturnType<typeof loadEnv>;
  let catalog: Catalog;
  try {
    env = loadEnv();
    catalog = await loadCatalog(env.CATALOG_FILE);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof CatalogError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger(env.LOG_LEVEL);
  const database = await createDatabase({
    url: env.DATABASE_URL,
    pgliteDataDir: env.PGLITE_DATA_DIR,
    poolSize: env.DATABASE_POOL_SIZE,
  });
  const applied = await migrate(database);
  if (applied.length) logger.info({ applied }, 'migrations applied');
  const serves = env.TOLLGATE_ROLE !== 'worker';
  const works = env.TOLLGATE_ROLE !== 'api' && env.WORKER_CONCURRENCY > 0;

  // Demo mode without a Stripe configured: run the emulator in this process, as Stripe.
  const emulator =
    serves && env.demo && !env.STRIPE_API_BASE && !env.STRIPE_SECRET_KEY
      ? await startDemoEmulator(env)
      : null;

  const deps: Deps = {
    env,
    database,
    clock: createClock(),
    logger,
    jwt: createJwtVerifier(env),
    apiKeyCache: createApiKeyCache(),
    stripe: createStripeClient({
      secretKey: env.STRIPE_SECRET_KEY ?? 'sk_test_unconfigured',
      apiBase: env.STRIPE_API_BASE,
    }),
    // Only HTTP processes stream; a worker publishes changes with pg_notify in its transactions.
    ...(serves ? { live: createLiveHub(database, { logger: logger.child({ component: 'live' }) }) } : {}),
  };
  if (env.demo && serves) await seedDemo(deps);
  // The embedded emulator starts empty: give it the catalog (a no-op on later starts).
  if (emulator)
    await pushCatalog(deps, catalog).catch((err) =>
      logger.error({ err }, 'catalog push to the emulator failed'),
    );

  const metrics = createMetrics();
  registerJobMetrics(metrics, () => jobStats(database, deps.clock));
  registerReconcileMetrics(metrics);
  const app = await buildApp(deps, { metrics });
  const worker = createWorker({
    database,
    clock: deps.clock,
    tasks,
    deps,
    concurrency: env.WORKER_CONCURRENCY,
    pollIntervalMs: env.WORKER_POLL_INTERVAL_MS,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    lockTimeoutMs: env.WORKER_LOCK_SECONDS * 1000,
    logger: logger.child({ component: 'jobs' }),
  });
  const inbox = createInboxProcessor(deps, metrics.webhook);
  // Signals are handled before the port opens: a SIGTERM right after start still shuts down cleanly.
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const timer = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, env.SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    // Order matters: stop taking requests, let running jobs finish, then close the database.
    // app.close() ends open event streams first; then the LISTEN connection can go.
    await app.close();
    await deps.live?.close();
    await inbox.stop();
    await worker.stop();
    await emulator?.stop();
    await database.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  if (serves) await app.listen({ host: env.HOST, port: env.PORT });

  if (works) worker.start();
  // The drift check reschedules itself; this plants the first run (deduplicated per time slot).
  if (works) await scheduleDriftCheck(deps);
  if (works) await scheduleCreditExpiry(deps);
  if (works) await scheduleUsageReport(deps);
  if (works) inbox.start();
  if (!serves) {
    logger.info({ role: env.TOLLGATE_ROLE, database: database.kind }, 'Tollgate worker running');
    console.log(`Tollgate worker running (${database.kind}): jobs and Stripe events, no HTTP`);
    return;
  }
  // Demo: the embedded emulator delivers its events to our endpoint, signed like Stripe.
  if (emulator) {
    const known = (await deps.stripe.webhookEndpoints.list({ limit: 100 })).data.some(
      (e) => e.url === `${env.publicUrl}/v1/webhooks/stripe`,
    );
    if (!known)
      emulator.control.addWebhookEndpoint({
        url: `${env.publicUrl}/v1/webhooks/stripe`,
        secret: DEMO_WEBHOOK_SECRET,
      });
  }

  const lines = [
    '',
    `Tollgate is running${env.demo ? ' in demo mode' : ''} (${database.kind}${env.TOLLGATE_ROLE === 'api' ? ', api only: no worker' : ''})`,
    `  Dashboard        ${env.publicUrl}/`,
    `  API              ${env.publicUrl}/v1`,
    `  API docs         ${env.publicUrl}/docs   (OpenAPI: ${env.publicUrl}/openapi.json)`,
    `  Health           ${env.publicUrl}/healthz  ${env.publicUrl}/readyz  ${env.publicUrl}/metrics`,
  ];
  if (env.demo) {
    lines.push(
      `  Dev sign-in      ${env.publicUrl}/dev/sign-in`,
      ...(emulator ? [`  Stripe emulator  ${emulator.url}   (state: ${env.EMULATOR_STATE_FILE})`] : []),
      `  Operator key     ${env.adminKey}`,
      ...DEMO_ORGS.map((o) => `  ${`${o.name} key`.padEnd(16)} ${demoOrgKey(o.slug)}   (org ${o.id})`),
    );
  }
  console.log(`${lines.join('\n')}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
