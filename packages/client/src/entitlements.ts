import { createTransport, TollgateError, type TransportOptions } from './http.ts';
import type { components } from './schema.ts';

export type Entitlement = components['schemas']['Entitlement'];

/** Tollgate could not answer (unreachable, timed out, 5xx or 429): the fail mode decided. */
export interface UnavailableCheck {
  feature: string;
  allowed: boolean;
  reason: 'tollgate_unavailable';
  /** What went wrong, for logs. */
  error: string;
}

export type EntitlementCheck = Entitlement | UnavailableCheck;

export interface EntitlementClientOptions {
  /**
   * What `check` answers when Tollgate cannot: `open` allows (your product keeps working through
   * a Tollgate outage), `closed` denies (nothing paid is given away). Default `closed`.
   */
  failMode?: 'open' | 'closed';
  /** How long a check's answer is reused, per org, feature and quantity (ms; 0 = never). Default 5000. */
  cacheTtlMs?: number;
  /** A check that takes longer counts as Tollgate being unavailable (ms). Default 2000. */
  timeoutMs?: number;
}

export interface ConsumeOptions {
  /**
   * Required. The same key makes a retried call a replay (the original result, no second
   * charge), so derive it from what caused the consumption — your request id, job id or row id
   * (`req_123:ai_inference`) — never from time or randomness per attempt.
   */
  idempotencyKey: string;
  metadata?: Record<string, string>;
}

export interface TrackOptions {
  /** Required, like ConsumeOptions.idempotencyKey: one key per real-world unit of usage reported. */
  idempotencyKey: string;
  /** When the usage happened (default: now, on the server). */
  occurredAt?: Date | string;
  metadata?: Record<string, string>;
}

/** One accepted consumption (or its replay), as `POST /v1/orgs/{org}/credits/consume` returns it. */
export type Consumption = components['schemas']['CreditConsumption'];
/** One metered add-on usage record, as `POST /v1/orgs/{org}/usage` returns it. */
export type UsageRecord = components['schemas']['MeteredUsage'];

type UntypedCall = (
  method: string,
  path: string,
  req: { path?: Record<string, string>; query?: Record<string, unknown>; body?: unknown },
) => Promise<unknown>;

interface CacheEntry {
  value: Entitlement;
  at: number;
}

/** Unavailable means "ask again later"; anything else (401, 403, 404) is a mistake to surface. */
function isUnavailable(err: unknown): boolean {
  if (err instanceof TollgateError) return err.status >= 500 || err.status === 429;
  return true; // network error, DNS, connection refused, timeout (AbortError)
}

/**
 * `check`, `consume` and `track` for a host backend. `check` answers from a short client-side
 * cache and never throws for an outage (the fail mode decides); `consume` and `track` change
 * state, so they always reach Tollgate and throw TollgateError when they cannot.
 */
export function entitlementCalls(transport: TransportOptions, opts: EntitlementClientOptions = {}) {
  const ttl = opts.cacheTtlMs ?? 5_000;
  const failOpen = (opts.failMode ?? 'closed') === 'open';
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const baseFetch = transport.fetch ?? fetch;
  const checkCall = createTransport({
    ...transport,
    fetch: (input, init) => baseFetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }),
  }) as unknown as UntypedCall;
  const call = createTransport(transport) as unknown as UntypedCall;
  const cache = new Map<string, CacheEntry>();
  const inflight = new Map<string, Promise<EntitlementCheck>>();

  const forgetOrg = (org: string) => {
    for (const key of cache.keys()) if (key.startsWith(`${org}\u0000`)) cache.delete(key);
  };

  async function fetchCheck(org: string, feature: string, quantity: number, key: string) {
    try {
      const value = (await checkCall('get', '/v1/orgs/{org}/entitlements/{feature}', {
        path: { org, feature },
        query: quantity === 1 ? {} : { quantity },
      })) as Entitlement;
      if (ttl > 0) cache.set(key, { value, at: Date.now() });
      return value;
    } catch (err) {
      if (!isUnavailable(err)) throw err;
      return {
        feature,
        allowed: failOpen,
        reason: 'tollgate_unavailable',
        error: err instanceof Error ? err.message : String(err),
      } satisfies UnavailableCheck;
    }
  }

  return {
    /**
     * May `org` use `feature` (a catalog feature or usage event; `quantity` more units)?
     * Answers from the cache for `cacheTtlMs`; concurrent checks of one key share one request.
     * Throws TollgateError only for mistakes (unknown feature 404, bad credentials 401/403).
     */
    async check(org: string, feature: string, quantity = 1): Promise<EntitlementCheck> {
      const key = `${org}\u0000${feature}\u0000${quantity}`;
      const hit = cache.get(key);
      if (hit && Date.now() - hit.at < ttl) return hit.value;
      let p = inflight.get(key);
      if (!p) {
        p = fetchCheck(org, feature, quantity, key).finally(() => inflight.delete(key));
        inflight.set(key, p);
      }
      return p;
    },

    /** All of the org's entitlements (not cached). */
    async listEntitlements(org: string): Promise<Entitlement[]> {
      const r = (await call('get', '/v1/orgs/{org}/entitlements', { path: { org } })) as {
        data: Entitlement[];
      };
      return r.data;
    },

    /** Drops this client's cached checks (one org, or all). */
    invalidate(org?: string) {
      if (org === undefined) cache.clear();
      else forgetOrg(org);
    },

    /**
     * Consumes credits for `quantity` usage events. 402 `insufficient_credits` (details:
     * balance, required) is thrown as a TollgateError. Drops the org's cached checks, since its
     * balance moved.
     */
    async consume(org: string, event: string, quantity: number, o: ConsumeOptions): Promise<Consumption> {
      if (!o?.idempotencyKey)
        throw new TollgateError(
          400,
          'validation_failed',
          'idempotencyKey: required (derive it from the cause)',
          null,
        );
      try {
        const r = (await call('post', '/v1/orgs/{org}/credits/consume', {
          path: { org },
          body: {
            event,
            quantity,
            idempotency_key: o.idempotencyKey,
            ...(o.metadata ? { metadata: o.metadata } : {}),
          },
        })) as { consumption: Consumption };
        return r.consumption;
      } finally {
        forgetOrg(org);
      }
    },

    /** Reports usage of a metered add-on (SMS, email, ...), billed through Stripe meters. */
    async track(org: string, addon: string, quantity: number, o: TrackOptions): Promise<UsageRecord> {
      if (!o?.idempotencyKey)
        throw new TollgateError(
          400,
          'validation_failed',
          'idempotencyKey: required (derive it from the cause)',
          null,
        );
      const occurredAt = o.occurredAt instanceof Date ? o.occurredAt.toISOString() : o.occurredAt;
      const r = (await call('post', '/v1/orgs/{org}/usage', {
        path: { org },
        body: {
          addon,
          quantity,
          idempotency_key: o.idempotencyKey,
          ...(occurredAt ? { occurred_at: occurredAt } : {}),
          ...(o.metadata ? { metadata: o.metadata } : {}),
        },
      })) as { usage: UsageRecord };
      return r.usage;
    },
  };
}
