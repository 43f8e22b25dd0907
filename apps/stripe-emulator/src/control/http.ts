/**
 * HTTP control API under /_emulator/ (not Stripe's; JSON in and out; no auth because it
 * only ever listens where the test or demo runs). Every route maps onto `Controls`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ControlHandler, Emulator, RetrySchedule } from '../core/context.ts';
import { StripeApiError } from '../http/errors.ts';
import type { ApiFaultSpec } from '../http/faults.ts';
import { readBody } from '../http/server.ts';
import type { WebhookFault } from '../webhooks/dispatcher.ts';
import type { Controls, WebhookEndpointSpec } from './controls.ts';
import { ControlReply } from './reply.ts';
import type { EmulatorSnapshot } from './snapshot.ts';

type Body = Record<string, unknown>;
type BuiltIn = (body: Body, query: URLSearchParams) => unknown;

function builtIns(controls: Controls): Record<string, BuiltIn> {
  return {
    'GET /_emulator/health': () => ({ ok: true }),
    'POST /_emulator/reset': () => {
      controls.reset();
      return { ok: true };
    },
    'GET /_emulator/time': () => ({ now: controls.now() }),
    'POST /_emulator/advance': (body) =>
      controls.advanceTime({
        seconds: body.seconds as number | undefined,
        to: body.to as number | undefined,
      }),
    'GET /_emulator/retry-schedule': () => controls.retrySchedule(),
    'POST /_emulator/retry-schedule': (body) => controls.setRetrySchedule(parseRetrySchedule(body)),
    'POST /_emulator/faults': (body) => {
      if (body.webhook) {
        controls.injectWebhookFault(body.webhook as WebhookFault);
        return { ok: true };
      }
      return controls.injectFault(body as unknown as ApiFaultSpec);
    },
    'POST /_emulator/webhook-faults': (body) => {
      controls.injectWebhookFault(body as unknown as WebhookFault);
      return { ok: true };
    },
    'DELETE /_emulator/faults': () => {
      controls.clearFaults();
      return { ok: true };
    },
    'GET /_emulator/deliveries': (_body, query) =>
      controls.deliveries({
        eventType: query.get('event_type') ?? undefined,
        eventId: query.get('event_id') ?? undefined,
      }),
    'POST /_emulator/deliveries/wait': async () => {
      await controls.waitForDeliveries();
      return { ok: true };
    },
    'POST /_emulator/snapshot': () => controls.snapshot(),
    'POST /_emulator/restore': (body) => {
      controls.restore(body.format ? (body as unknown as EmulatorSnapshot) : undefined);
      return { ok: true };
    },
    'POST /_emulator/webhook-endpoints': (body) =>
      controls.addWebhookEndpoint(body as unknown as WebhookEndpointSpec),
    'GET /_emulator/jobs': () => ({ pending: controls.pendingJobs(), failures: controls.jobFailures() }),
  };
}

/** `{ days: [3, 5, 7], end: 'canceled'|'unpaid'|'past_due', mark_uncollectible | markUncollectible }` */
function parseRetrySchedule(body: Body): Partial<RetrySchedule> {
  const out: Partial<RetrySchedule> = {};
  if (body.days !== undefined) {
    const days = body.days;
    if (!Array.isArray(days) || !days.every((d) => typeof d === 'number' && d > 0)) {
      throw new Error('days must be a list of positive numbers of days after the first failure');
    }
    out.days = [...days].sort((a, b) => a - b);
  }
  if (body.end !== undefined) {
    if (body.end !== 'canceled' && body.end !== 'unpaid' && body.end !== 'past_due') {
      throw new Error('end must be canceled, unpaid or past_due');
    }
    out.end = body.end;
  }
  const mark = body.markUncollectible ?? body.mark_uncollectible;
  if (mark !== undefined) out.markUncollectible = mark === true;
  return out;
}

function matchPattern(pattern: string, path: string): Record<string, string> | null {
  const a = pattern.split('/').filter(Boolean);
  const b = path.split('/').filter(Boolean);
  if (a.length !== b.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.startsWith(':')) params[a[i]!.slice(1)] = decodeURIComponent(b[i]!);
    else if (a[i] !== b[i]) return null;
  }
  return params;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (body instanceof ControlReply) {
    res.writeHead(body.status, { 'Content-Length': Buffer.byteLength(body.body), ...body.headers });
    res.end(body.body);
    return;
  }
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Access-Control-Allow-Origin': '*',
  });
  res.end(text);
}

export function createControlHandler(ctx: Emulator, controls: Controls) {
  const routes = builtIns(controls);
  return async (req: IncomingMessage, res: ServerResponse, path: string, query: string): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    try {
      const raw = method === 'GET' ? '' : await readBody(req);
      // JSON normally; HTML forms (the 3-D Secure page) post urlencoded. Query params are
      // merged in so GET routes can take arguments too.
      const isForm = (req.headers['content-type'] ?? '').includes('x-www-form-urlencoded');
      const body: Body = {
        ...Object.fromEntries(new URLSearchParams(query)),
        ...((isForm ? Object.fromEntries(new URLSearchParams(raw)) : raw ? JSON.parse(raw) : {}) as Body),
      };
      const builtIn = routes[`${method} ${path}`];
      if (builtIn) {
        json(res, 200, await builtIn(body, new URLSearchParams(query)));
        return;
      }
      for (const route of ctx.app.controlRoutes) {
        if (route.method !== method) continue;
        const params = matchPattern(route.pattern, path);
        if (!params) continue;
        json(res, 200, await (route.handler as ControlHandler)(ctx, body, params));
        return;
      }
      json(res, 404, { error: { message: `Unknown control route ${method} ${path}` } });
    } catch (err) {
      if (err instanceof StripeApiError) {
        json(res, err.fields.status, { error: { type: err.fields.type, message: err.fields.message } });
        return;
      }
      json(res, 400, { error: { message: err instanceof Error ? err.message : String(err) } });
    }
  };
}
