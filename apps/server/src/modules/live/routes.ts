import { PassThrough } from 'node:stream';
import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOrg } from '../../http/auth/orgAccess.ts';
import { DomainError } from '../../http/errors.ts';
import { authErrors, errorBody, orgIdParam } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import type { OrgChangeMessage } from './publishOrgChange.ts';

export const HEARTBEAT_MS = 15_000;
/** What EventSource waits before reconnecting after the stream drops. */
const RETRY_MS = 3_000;
const READY_TIMEOUT_MS = 5_000;
/** A client that stops reading is dropped rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 1 << 20;

export interface LiveRouteOptions {
  heartbeatMs?: number;
}

export function registerLiveRoutes(app: App, deps: Deps, opts: LiveRouteOptions = {}) {
  const heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
  const open = new Set<PassThrough>();
  // Streams never end by themselves; end them first so close() can drain every connection.
  app.addHook('preClose', async () => {
    for (const stream of open) stream.end();
  });

  app.get(
    '/v1/orgs/:org/events/stream',
    {
      schema: {
        tags: ['live'],
        summary:
          "Server-sent events: the org's billing changes as they are applied (first `ready`, then one event per change)",
        params: z.object({ org: orgIdParam }),
        response: {
          200: {
            description:
              'text/event-stream: `event: ready` once subscribed, then `id:`/`event: <type>`/`data: <json>` per change; `resync` means changes may have been missed (refetch); comment heartbeats every 15 s',
            content: { 'text/event-stream': { schema: z.string() } },
          },
          ...authErrors,
          503: errorBody,
        },
      },
    },
    async (request, reply) => {
      // Everything that can fail happens before the first byte, so errors are ordinary JSON replies.
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      const live = deps.live;
      if (!live) throw new DomainError('unavailable', 'live updates are not enabled in this process');

      const stream = new PassThrough();
      let started = false;
      const early: OrgChangeMessage[] = [];
      const writable = () => !stream.writableEnded && !stream.destroyed;
      const send = (m: OrgChangeMessage) => {
        if (!started) return void early.push(m);
        if (!writable()) return;
        if (stream.writableLength > MAX_BUFFERED_BYTES) return void stream.destroy();
        stream.write(`id: ${m.id}\nevent: ${m.type}\ndata: ${JSON.stringify(m)}\n\n`);
      };
      // Subscribe before announcing `ready`: whatever commits after `ready` is delivered.
      const unsubscribe = live.subscribe(ctx.orgId, send);
      try {
        await withTimeout(live.ready(), READY_TIMEOUT_MS);
      } catch {
        unsubscribe();
        throw new DomainError('unavailable', 'live updates are unavailable right now; retry shortly');
      }

      const heartbeat = setInterval(() => writable() && stream.write(': heartbeat\n\n'), heartbeatMs);
      heartbeat.unref();
      const cleanup = () => {
        clearInterval(heartbeat);
        unsubscribe();
        open.delete(stream);
      };
      stream.once('close', cleanup);
      stream.once('finish', cleanup);
      reply.raw.once('close', () => {
        cleanup();
        stream.destroy();
      });
      open.add(stream);

      stream.write(`retry: ${RETRY_MS}\nevent: ready\ndata: ${JSON.stringify({ org_id: ctx.orgId })}\n\n`);
      started = true;
      for (const m of early.splice(0)) send(m);

      return (
        reply
          .header('content-type', 'text/event-stream; charset=utf-8')
          .header('cache-control', 'no-cache')
          // Reverse proxies (nginx) must not buffer the stream.
          .header('x-accel-buffering', 'no')
          // A stream is sent as is (no serialization); the typed reply only knows the JSON bodies.
          .send(stream as never)
      );
    },
  );
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
