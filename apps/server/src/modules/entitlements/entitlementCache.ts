import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../deps.ts';
import { ALL_ORGS } from '../live/publishOrgChange.ts';
import type { CatalogView, OrgSnapshot } from './decideEntitlement.ts';

/**
 * How long an entry may be served while this process hears every org change (LISTEN up): a
 * safety net only — changes invalidate entries as they commit.
 */
export const DEFAULT_CACHE_TTL_MS = 60_000;
/** Without live notifications (no hub, or its connection is down) entries live this long. */
export const UNLISTENED_TTL_MS = 1_000;
const MAX_ORGS = 100_000;

interface Entry<T> {
  value: T;
  storedAt: number;
  /** Stored while notifications were heard: only then may it live the full TTL. */
  heard: boolean;
  /** Wall-clock-independent expiry by the app clock: the next time-based transition. */
  validUntil: number;
}

/** A read that started before an invalidation must not store what it read. */
export interface CacheTicket {
  readonly epoch: number;
  readonly generation: number;
}

/**
 * The per-process entitlement cache: one snapshot per org plus the catalog view. Entries are
 * dropped when a change to their org is announced (any process, through the LiveHub), when a
 * catalog push or a LISTEN reconnect (`resync`) is announced (everything), when their next
 * time-based transition passes (grace period end: by the app clock, so tests can advance it),
 * and after a safety TTL (short while no notifications can arrive).
 */
export interface EntitlementCache {
  getOrg(orgId: string, nowMs: number): OrgSnapshot | undefined;
  ticket(orgId: string): CacheTicket;
  setOrg(orgId: string, ticket: CacheTicket, value: OrgSnapshot, validUntil: number | null): void;
  getCatalog(): CatalogView | undefined;
  setCatalog(ticket: CacheTicket, value: CatalogView): void;
  invalidate(orgId: string): void;
  clear(): void;
  size(): number;
  /** Loads in flight, by org and ticket: concurrent misses for one org share one query. */
  loads: Map<string, Promise<OrgSnapshot | null>>;
  close(): void;
}

export interface EntitlementCacheOptions {
  ttlMs?: number;
  /** True while every change is being heard (defaults to "never": short TTL). */
  listening?: () => boolean;
  /** Monotonic time for TTLs (the app clock may be moved by tests; TTLs follow real time). */
  monotonicNow?: () => number;
}

export function createEntitlementCache(opts: EntitlementCacheOptions = {}): EntitlementCache {
  const ttl = opts.ttlMs ?? DEFAULT_CACHE_TTL_MS;
  const listening = opts.listening ?? (() => false);
  const mono = opts.monotonicNow ?? (() => performance.now());
  const orgs = new Map<string, Entry<OrgSnapshot>>();
  const generations = new Map<string, number>();
  let catalog: Entry<CatalogView> | undefined;
  let epoch = 0;

  const fresh = (e: Entry<unknown>) =>
    mono() - e.storedAt < (e.heard && listening() ? ttl : Math.min(ttl, UNLISTENED_TTL_MS));
  const current = (t: CacheTicket, orgId?: string) =>
    t.epoch === epoch && (orgId === undefined || t.generation === (generations.get(orgId) ?? 0));

  return {
    getOrg(orgId, nowMs) {
      const e = orgs.get(orgId);
      if (!e) return undefined;
      if (nowMs >= e.validUntil || !fresh(e)) {
        orgs.delete(orgId);
        return undefined;
      }
      return e.value;
    },
    ticket(orgId) {
      return { epoch, generation: generations.get(orgId) ?? 0 };
    },
    setOrg(orgId, t, value, validUntil) {
      if (!current(t, orgId)) return;
      if (orgs.size >= MAX_ORGS && !orgs.has(orgId)) {
        // Oldest insertion first: a cheap bound, not an LRU (a miss costs one small query).
        const oldest = orgs.keys().next().value;
        if (oldest !== undefined) orgs.delete(oldest);
      }
      orgs.set(orgId, {
        value,
        storedAt: mono(),
        heard: listening(),
        validUntil: validUntil ?? Number.POSITIVE_INFINITY,
      });
    },
    getCatalog() {
      if (catalog && !fresh(catalog)) catalog = undefined;
      return catalog?.value;
    },
    setCatalog(t, value) {
      if (current(t))
        catalog = { value, storedAt: mono(), heard: listening(), validUntil: Number.POSITIVE_INFINITY };
    },
    invalidate(orgId) {
      // Bounded like the entries: past that, forgetting everything is the safe way to shrink.
      if (generations.size >= MAX_ORGS && !generations.has(orgId)) return this.clear();
      generations.set(orgId, (generations.get(orgId) ?? 0) + 1);
      orgs.delete(orgId);
    },
    clear() {
      epoch++;
      orgs.clear();
      generations.clear();
      catalog = undefined;
    },
    size: () => orgs.size,
    loads: new Map(),
    close() {},
  };
}

const caches = new WeakMap<Deps, EntitlementCache>();

/**
 * This process's cache for `deps` (the HTTP app, the worker and the webhook processor share one
 * Deps), subscribed to every org change on first use.
 */
export function entitlementCacheOf(deps: Deps): EntitlementCache {
  let cache = caches.get(deps);
  if (cache) return cache;
  const live = deps.live;
  cache = createEntitlementCache({
    ttlMs: deps.env.ENTITLEMENTS_CACHE_TTL_MS,
    listening: live ? () => live.isListening() : undefined,
  });
  caches.set(deps, cache);
  if (live) {
    const c = cache;
    const unsubscribe = live.subscribeAll((m) => {
      if (m.type === 'resync' || m.org_id === ALL_ORGS) c.clear();
      else c.invalidate(m.org_id);
    });
    // Until LISTEN is up the TTL stays short (isListening), so nothing waits for this.
    live.ready().catch((err) => deps.logger.warn({ err }, 'entitlement cache: no live invalidation'));
    c.close = unsubscribe;
  }
  return cache;
}

/** Drops the org's entry in this process right away (after a commit that changed it). */
export function invalidateEntitlements(deps: Deps, orgId: string) {
  entitlementCacheOf(deps).invalidate(orgId);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * After any successful mutation of an org through this process's API (a subscription change,
 * a credit consumption, a usage report, ...), its cached entitlements are dropped before the
 * reply goes out: the caller's next check here sees its own change without waiting for the
 * notification (which still reaches the other processes). Only successes: a caller without
 * access to the org (4xx) must not be able to churn the cache.
 */
export function invalidateAfterOrgMutations(app: FastifyInstance, deps: Deps) {
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!SAFE_METHODS.has(request.method) && reply.statusCode < 400) {
      const org = (request.params as { org?: unknown } | undefined)?.org;
      if (typeof org === 'string') invalidateEntitlements(deps, org);
    }
    done(null, payload);
  });
}
