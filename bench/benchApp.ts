import type { AddressInfo } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import type { Logger } from 'pino';
import { buildApp } from '../apps/server/src/app.ts';
import { createClock } from '../apps/server/src/clock.ts';
import { migrate } from '../apps/server/src/db/migrate.ts';
import type { Deps } from '../apps/server/src/deps.ts';
import { loadEnv } from '../apps/server/src/env.ts';
import { createJwtVerifier } from '../apps/server/src/http/auth/jwt.ts';
import { createLogger } from '../apps/server/src/http/logger.ts';
import { createMetrics, type Metrics } from '../apps/server/src/http/observability.ts';
import type { App } from '../apps/server/src/http/types.ts';
import { createApiKeyCache } from '../apps/server/src/modules/api-keys/authenticateApiKey.ts';
import { createLiveHub } from '../apps/server/src/modules/live/liveHub.ts';
import { createStripeClient } from '../apps/server/src/stripe/createStripeClient.ts';
import type { BenchDatabase } from './benchDatabase.ts';

export interface BenchApp {
  deps: Deps;
  app: App;
  metrics: Metrics;
  port: number;
  close(): Promise<void>;
}

/**
 * Tollgate as main.ts wires it — the whole app from `buildApp`, with the LISTEN hub every serving
 * process has — migrated onto the benchmark's database and listening on 127.0.0.1 (random port).
 * No Stripe: the client points at a closed loopback port, so a call that should not happen on
 * the measured path fails loudly instead of leaving the machine. `env` adds to or overrides the
 * bench defaults (rate limits, secrets, log level); `logger` replaces the env's.
 */
export async function startBenchApp(
  bench: Pick<BenchDatabase, 'database'>,
  opts: { poolSize: number; env?: Record<string, string>; logger?: (level: string) => Logger },
): Promise<BenchApp> {
  const { database } = bench;
  await migrate(database);
  const env = loadEnv({
    NODE_ENV: 'development',
    TOLLGATE_DEMO: 'false',
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    STRIPE_SECRET_KEY: 'sk_test_bench_0000',
    STRIPE_API_BASE: 'http://127.0.0.1:9',
    DATABASE_POOL_SIZE: String(opts.poolSize),
    ...opts.env,
  });
  const deps: Deps = {
    env,
    database,
    clock: createClock(),
    logger: opts.logger ? opts.logger(env.LOG_LEVEL) : createLogger(env.LOG_LEVEL),
    jwt: createJwtVerifier(env),
    apiKeyCache: createApiKeyCache(),
    stripe: createStripeClient({
      secretKey: 'sk_test_bench_0000',
      apiBase: 'http://127.0.0.1:9',
      maxNetworkRetries: 0,
    }),
    live: createLiveHub(database),
  };
  await deps.live?.ready();
  const metrics = createMetrics();
  const app = await buildApp(deps, { dashboardDir: '/nonexistent', metrics });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    deps,
    app,
    metrics,
    port: (app.server.address() as AddressInfo).port,
    async close() {
      await app.close();
      await deps.live?.close();
    },
  };
}

/** The `machine` line every benchmark prints first. */
export function machineLine(): string {
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  return `machine   ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load average ${load}`;
}
