/**
 * The node:http request listener: Stripe's wire protocol around the module routes.
 * Order per request: fault lookup -> body -> route -> auth -> Stripe-Version ->
 * idempotency -> "before" fault -> params -> handler -> expand -> save idempotent result ->
 * "after" fault -> respond. Handlers are synchronous, so a request's state changes and
 * events are atomic with respect to other requests.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Emulator } from '../core/context.ts';
import { expand } from '../core/expand.ts';
import { newRequestId } from '../core/ids.ts';
import { authenticate } from './auth.ts';
import { errorBody, StripeApiError } from './errors.ts';
import { type ApiFault, type FaultList, faultError, phaseOf } from './faults.ts';
import { type FormObject, type FormValue, parseForm } from './form.ts';
import type { IdempotencyCache } from './idempotency.ts';
import type { ApiRequest } from './router.ts';
import { checkApiVersion } from './versions.ts';

export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
  ms: number;
  /** Form body (POST) or query string (GET/DELETE), for debugging clients. */
  params: string;
}

export interface HttpDeps {
  ctx: Emulator;
  /** Called after every API response (the CLI's --verbose). */
  onRequest?: (entry: RequestLogEntry) => void;
  idempotency: IdempotencyCache;
  faults: FaultList;
  /** Handles `/_emulator/...` and the hosted pages (`/c/...` checkout, `/p/...` billing portal). */
  control: (req: IncomingMessage, res: ServerResponse, path: string, query: string) => Promise<void>;
}

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers':
    'Authorization, Content-Type, Stripe-Version, Idempotency-Key, Stripe-Account',
  'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
  'Access-Control-Expose-Headers': 'Request-Id, Idempotent-Replayed, Stripe-Should-Retry',
};

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')),
    );
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  if (res.destroyed) return;
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    ...CORS_HEADERS,
    ...headers,
  });
  res.end(body);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `expand[]=a&expand[]=b` (or the SDK's `expand[0]=a`) -> ['a', 'b'], removed from params. */
function takeExpand(params: FormObject): string[] {
  const raw = params.expand;
  if (raw === undefined) return [];
  delete params.expand;
  const values: FormValue[] = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : Object.values(raw);
  return values.filter((v): v is string => typeof v === 'string' && v !== '');
}

function isHostedPage(path: string): boolean {
  return path.startsWith('/c/') || path.startsWith('/p/');
}

export function createListener(deps: HttpDeps) {
  const { ctx, idempotency, faults } = deps;

  const listener = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const query = q === -1 ? '' : rawUrl.slice(q + 1);
    const method = (req.method ?? 'GET').toUpperCase();

    // Hosted pages a browser opens without an API key (Checkout /c/pay/:cs, portal /p/session/:id)
    // are control routes too; modules add them with app.control().
    if (path.startsWith('/_emulator/') || path === '/_emulator' || isHostedPage(path)) {
      await deps.control(req, res, path, query);
      return;
    }
    if (method === 'OPTIONS') {
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }

    const requestId = newRequestId();
    const headers: Record<string, string> = { 'Request-Id': requestId, 'Stripe-Version': ctx.apiVersion };
    const fault = faults.take(method, path);
    let idempotencyKey: string | null = null;
    let saved = false;

    try {
      const body = method === 'POST' ? await readBody(req) : '';
      const match = ctx.app.router.match(method, path);
      const keyKind = authenticate(req.headers.authorization, match?.route.publishable ?? false);
      const version = req.headers['stripe-version'];
      const versionError = checkApiVersion(typeof version === 'string' ? version : undefined);
      if (versionError) throw versionError;
      if (!match) {
        throw new StripeApiError({
          status: 404,
          type: 'invalid_request_error',
          message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
        });
      }

      // Failing "before" faults: the request never executes, so nothing is saved for its key.
      if (fault && phaseOf(fault) === 'before') {
        const error = faultError(fault);
        if (error) throw error;
        if (fault.kind === 'drop') {
          req.socket.destroy();
          return;
        }
      }

      const keyHeader = req.headers['idempotency-key'];
      if (method === 'POST' && typeof keyHeader === 'string' && keyHeader !== '') {
        headers['Idempotency-Key'] = keyHeader;
        // A conflict throws here, before this request owns the key (so it must not abandon it).
        const begun = idempotency.begin(keyHeader, `${method} ${path}\n${body}`, requestId);
        if (begun.kind === 'new') idempotencyKey = keyHeader;
        if (begun.kind === 'replay') {
          if (fault && (await applyAfterFault(fault, res, headers))) return;
          send(res, begun.status, begun.body, {
            ...headers,
            'Idempotent-Replayed': 'true',
            'Original-Request': begun.requestId,
          });
          return;
        }
      }

      // A slow request holds its idempotency key meanwhile: a concurrent retry gets the 409.
      if (fault && phaseOf(fault) === 'before' && fault.kind === 'delay') await sleep(fault.delayMs ?? 1000);

      const params = parseForm(method === 'POST' ? body : query);
      const expandPaths = takeExpand(params);
      const validated = match.route.schema.parse(params, '');
      const apiRequest: ApiRequest<never> = {
        ctx,
        params: validated as never,
        path: match.params,
        method,
        url: path,
        requestId,
        idempotencyKey,
        eventRequest: { id: requestId, idempotency_key: idempotencyKey },
        keyKind,
        expand: expandPaths,
        apiVersion: typeof version === 'string' && version !== '' ? version : null,
      };
      // From here on the request "started executing": its outcome is the idempotent result.
      saved = true;
      let status = 200;
      let responseBody: string;
      try {
        const result = ctx.withRequest(apiRequest.eventRequest, () => match.route.handler(apiRequest));
        responseBody = JSON.stringify(
          apiRequest.expand.length ? expand(ctx, result, apiRequest.expand) : result,
        );
      } catch (err) {
        if (!(err instanceof StripeApiError)) throw err;
        status = err.fields.status;
        Object.assign(headers, err.fields.headers);
        responseBody = JSON.stringify(errorBody(err.fields, requestId));
      }
      if (idempotencyKey) idempotency.complete(idempotencyKey, status, responseBody);

      if (fault && (await applyAfterFault(fault, res, headers))) return;
      send(res, status, responseBody, headers);
    } catch (err) {
      if (idempotencyKey && !saved) idempotency.abandon(idempotencyKey);
      if (err instanceof StripeApiError) {
        send(res, err.fields.status, JSON.stringify(errorBody(err.fields, requestId)), {
          ...headers,
          ...err.fields.headers,
        });
        return;
      }
      if (idempotencyKey) idempotency.abandon(idempotencyKey);
      ctx.log('unhandled error', { path, error: err instanceof Error ? err.stack : String(err) });
      send(
        res,
        500,
        JSON.stringify(
          errorBody({ status: 500, type: 'api_error', message: 'An unknown error occurred' }, requestId),
        ),
        headers,
      );
    }
  };
  const onRequest = deps.onRequest;
  if (!onRequest) return listener;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    await listener(req, res);
    const url = req.url ?? '';
    onRequest({
      method: req.method ?? '',
      path: url.split('?')[0] ?? url,
      status: res.statusCode,
      ms: Date.now() - started,
      params: Buffer.concat(chunks).toString('utf8') || url.split('?')[1] || '',
    });
  };
}

/**
 * A fault in the "after" phase: the request already ran; only the response is affected.
 * Returns true when it answered (or dropped) the request itself.
 */
async function applyAfterFault(
  fault: ApiFault,
  res: ServerResponse,
  headers: Record<string, string>,
): Promise<boolean> {
  if (phaseOf(fault) !== 'after') return false;
  if (fault.kind === 'delay') {
    await sleep(fault.delayMs ?? 1000);
    return false;
  }
  if (fault.kind === 'drop') {
    res.socket?.destroy();
    return true;
  }
  const error = faultError(fault);
  if (!error) return false;
  const requestId = headers['Request-Id'] ?? '';
  send(res, error.fields.status, JSON.stringify(errorBody(error.fields, requestId)), {
    ...headers,
    ...error.fields.headers,
  });
  return true;
}
