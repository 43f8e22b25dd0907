import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { withOrgTx } from '../../db/tx.ts';

/** What the hot path needs to know about an org's alert settings, with thresholds resolved. */
export interface AlertSettingsSnapshot {
  /** Absolute low-balance threshold (a percentage resolved against the current allocation). */
  lowBalance: number | null;
  unusualFactor: number | null;
  autoTopUp: { threshold: number } | null;
}

/**
 * How long a process trusts its copy. A change made in this process invalidates at once; other
 * processes pick it up within this time (and a percentage threshold follows a new allocation).
 */
export const SETTINGS_TTL_MS = 30_000;

interface Entry {
  at: number;
  value: Promise<AlertSettingsSnapshot | null>;
}

// Per database (tests run several apps in one process); concurrent misses share one load.
const caches = new WeakMap<Database, Map<string, Entry>>();

function cacheOf(database: Database): Map<string, Entry> {
  let c = caches.get(database);
  if (!c) {
    c = new Map();
    caches.set(database, c);
  }
  return c;
}

export function cachedAlertSettings(
  database: Database,
  orgId: string,
  nowMs: number,
): Promise<AlertSettingsSnapshot | null> {
  const cache = cacheOf(database);
  const hit = cache.get(orgId);
  if (hit && nowMs - hit.at < SETTINGS_TTL_MS && nowMs >= hit.at) return hit.value;
  const value = loadSnapshot(database, orgId, new Date(nowMs));
  cache.set(orgId, { at: nowMs, value });
  // A failed load is not cached: the next change tries again.
  value.catch(() => cache.delete(orgId));
  return value;
}

export function invalidateAlertSettings(database: Database, orgId: string): void {
  cacheOf(database).delete(orgId);
}

async function loadSnapshot(database: Database, orgId: string, now: Date) {
  const rows = (await withOrgTx(database, orgId, (tx) =>
    tx.execute(sql`
      SELECT s.low_balance_threshold, s.low_balance_percent, s.unusual_usage_factor,
             s.auto_top_up_enabled, s.auto_top_up_threshold,
             CASE WHEN s.low_balance_percent IS NULL THEN 0 ELSE
               (SELECT coalesce(sum(g.amount), 0) FROM credit_grants g
                 WHERE g.org_id = s.org_id AND g.source = 'subscription' AND g.revoked_at IS NULL
                   AND (g.expires_at IS NULL OR g.expires_at > ${now.toISOString()}))
             END AS allocation
        FROM credit_settings s WHERE s.org_id = ${orgId}`),
  )) as unknown as { rows: Record<string, unknown>[] };
  const r = rows.rows[0];
  if (!r) return null;
  return snapshotOf(r);
}

function snapshotOf(r: Record<string, unknown>): AlertSettingsSnapshot | null {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const percent = num(r.low_balance_percent);
  const absolute = num(r.low_balance_threshold);
  // Integer credits: a percentage rounds up, so "below 10% of 1,005" means below 101.
  const lowBalance =
    absolute ?? (percent === null ? null : Math.ceil((percent * Number(r.allocation ?? 0)) / 100));
  const threshold = num(r.auto_top_up_threshold);
  const snapshot: AlertSettingsSnapshot = {
    lowBalance,
    unusualFactor: num(r.unusual_usage_factor),
    autoTopUp: r.auto_top_up_enabled && threshold !== null ? { threshold } : null,
  };
  return snapshot.lowBalance === null && snapshot.unusualFactor === null && !snapshot.autoTopUp
    ? null
    : snapshot;
}
