import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { createWebhookMetrics } from '../modules/webhooks/webhookMetrics.ts';

/** One registry per app instance (tests build several apps in one process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'tollgate_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'tollgate_http_rate_limited_total',
    help: 'Requests refused with 429',
    registers: [registry],
  });
  return { registry, httpDuration, rateLimited, webhook: createWebhookMetrics(registry) };
}

/** Job-queue gauges, read from the database when Prometheus scrapes. */
export function registerJobMetrics(
  metrics: Metrics,
  read: () => Promise<{ counts: Record<string, number>; oldestQueuedAgeMs: number | null }>,
) {
  let last: Awaited<ReturnType<typeof read>> | null = null;
  const refresh = async () => {
    last = await read().catch(() => last);
  };
  new Gauge({
    name: 'tollgate_jobs',
    help: 'Jobs by status',
    labelNames: ['status'] as const,
    registers: [metrics.registry],
    async collect() {
      await refresh();
      for (const [status, n] of Object.entries(last?.counts ?? {})) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'tollgate_jobs_oldest_queued_age_seconds',
    help: 'Age of the oldest job waiting to run (0 when none)',
    registers: [metrics.registry],
    collect() {
      this.set((last?.oldestQueuedAgeMs ?? 0) / 1000);
    },
  });
}

export type Metrics = ReturnType<typeof createMetrics>;

export function installRequestMetrics(app: FastifyInstance, metrics: Metrics) {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    if (reply.statusCode === 429) metrics.rateLimited.inc();
  });
}
