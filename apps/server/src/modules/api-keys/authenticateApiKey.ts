import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { hashApiKey } from '../../http/auth/secrets.ts';
import { type ApiKeyRow, findByHash, touchLastUsed } from './repo.ts';

const CACHE_TTL_MS = 30_000;
/** last_used_at is written at most this often per key, so hot keys cost no write per request. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Per-process cache of key lookups (hit path: one hash + one Map read). A revocation clears the
 * entry in the revoking process at once; other processes honour it within CACHE_TTL_MS.
 */
export interface ApiKeyCache {
  entries: Map<string, { row: ApiKeyRow | null; until: number }>;
  lastTouched: Map<string, number>;
}

export const createApiKeyCache = (): ApiKeyCache => ({ entries: new Map(), lastTouched: new Map() });

export async function authenticateApiKey(
  deps: Pick<Deps, 'database' | 'clock' | 'logger' | 'apiKeyCache'>,
  secret: string,
) {
  const { entries: cache, lastTouched } = deps.apiKeyCache;
  const hash = hashApiKey(secret);
  const now = deps.clock.nowMs();
  let entry = cache.get(hash);
  if (!entry || entry.until < now) {
    const row = await withSystemTx(deps.database, (tx) => findByHash(tx, hash));
    entry = { row, until: now + CACHE_TTL_MS };
    if (cache.size > 10_000) cache.clear();
    cache.set(hash, entry);
  }
  const row = entry.row;
  if (!row || row.revokedAt) return null;
  if ((lastTouched.get(row.id) ?? 0) + TOUCH_EVERY_MS < now) {
    lastTouched.set(row.id, now);
    // Fire and forget: a lost last-used update must never fail the request.
    withSystemTx(deps.database, (tx) => touchLastUsed(tx, row.id, new Date(now))).catch((err) =>
      deps.logger.warn({ err }, 'could not record api key use'),
    );
  }
  return row;
}
