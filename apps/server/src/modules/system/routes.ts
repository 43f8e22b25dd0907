import { z } from 'zod';
import { migrationsCurrent } from '../../db/migrate.ts';
import type { Deps } from '../../deps.ts';
import type { Metrics } from '../../http/observability.ts';
import type { App } from '../../http/types.ts';

export function registerSystemRoutes(app: App, deps: Deps, metrics: Metrics) {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['system'],
        summary: 'Liveness: the process answers',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['system'],
        summary: 'Readiness: database reachable and migrations current',
        response: {
          200: z.object({ status: z.literal('ready'), database: z.string() }),
          503: z.object({ status: z.literal('unready'), reason: z.string() }),
        },
      },
    },
    async (_request, reply) => {
      try {
        await deps.database.query('SELECT 1');
        if (!(await migrationsCurrent(deps.database)))
          return reply.code(503).send({ status: 'unready', reason: 'migrations pending' });
        return { status: 'ready' as const, database: deps.database.kind };
      } catch {
        return reply.code(503).send({ status: 'unready', reason: 'database unreachable' });
      }
    },
  );

  app.get(
    '/metrics',
    { schema: { tags: ['system'], summary: 'Prometheus metrics', hide: false } },
    async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
}
