import type { paths } from './schema.ts';

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

/** Path params, query and JSON body of one operation, as the OpenAPI contract declares them. */
export type RequestOf<P extends keyof paths, M extends Method> = (Op<P, M> extends {
  parameters: { path: infer A };
}
  ? A extends Record<string, unknown>
    ? { path: A }
    : { path?: undefined }
  : { path?: undefined }) &
  (Op<P, M> extends { parameters: { query?: infer Q } } ? { query?: Q } : { query?: undefined }) &
  (Op<P, M> extends { requestBody: { content: { 'application/json': infer B } } }
    ? { body: B }
    : Op<P, M> extends { requestBody?: { content: { 'application/json': infer B } } }
      ? { body?: B }
      : { body?: undefined }) & {
    /** Per-call headers, e.g. `Idempotency-Key` so a retried or double-clicked call happens once. */
    headers?: Record<string, string>;
  };

type Success<R> = R extends { 200: { content: { 'application/json': infer T } } }
  ? T
  : R extends { 201: { content: { 'application/json': infer T } } }
    ? T
    : undefined;
export type ResponseOf<P extends keyof paths, M extends Method> = Success<Op<P, M>['responses']>;

/** Every non-2xx answer: the server's error envelope, plus the HTTP status. */
export class TollgateError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'TollgateError';
  }
}

export interface TransportOptions {
  baseUrl: string;
  /** A `tg_sk_...` secret key (host backend) or a user JWT. */
  token?: string | (() => string | Promise<string>);
  fetch?: typeof fetch;
  headers?: Record<string, string>;
}

export function createTransport(opts: TransportOptions) {
  const doFetch = opts.fetch ?? fetch;
  const base = opts.baseUrl.replace(/\/$/, '');
  return async function call<P extends keyof paths, M extends Method>(
    method: M,
    path: P,
    req: RequestOf<P, M>,
  ): Promise<ResponseOf<P, M>> {
    const r = req as {
      path?: Record<string, string>;
      query?: Record<string, unknown>;
      body?: unknown;
      headers?: Record<string, string>;
    };
    let url = String(path).replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(r.path?.[k] ?? ''));
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(r.query ?? {}))
      if (v !== undefined && v !== null) qs.set(k, String(v));
    if ([...qs].length) url += `?${qs}`;
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers, ...r.headers };
    const token = typeof opts.token === 'function' ? await opts.token() : opts.token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (r.body !== undefined) headers['content-type'] = 'application/json';
    const res = await doFetch(base + url, {
      method: method.toUpperCase(),
      headers,
      body: r.body === undefined ? undefined : JSON.stringify(r.body),
    });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const e = (
        json as {
          error?: { code?: string; message?: string; request_id?: string; details?: Record<string, unknown> };
        }
      )?.error;
      throw new TollgateError(
        res.status,
        e?.code ?? 'http_error',
        e?.message ?? res.statusText,
        e?.request_id ?? null,
        e?.details,
      );
    }
    return json as ResponseOf<P, M>;
  };
}
