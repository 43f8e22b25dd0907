import type { Database } from '../../db/client.ts';
import type { Deps } from '../../deps.ts';
import { claimAutoTopUp, completeAutoTopUp } from './claimAutoTopUp.ts';
import { countConsumption } from './consumptionCounter.ts';
import { evaluateLowBalance } from './evaluateLowBalance.ts';
import { evaluateUnusualUsage } from './evaluateUnusualUsage.ts';
import { cachedAlertSettings } from './settingsCache.ts';

/** A committed change of one org's credit balance (consumption, grant, expiry, revocation). */
export interface BalanceChange {
  orgId: string;
  before: number;
  after: number;
  /** Credits consumed by this change (0 for grants), for unusual-usage detection. */
  consumed: number;
  at: Date;
}

/** Unusual usage is evaluated at most this often per org and process (it reads a week of ledger). */
export const UNUSUAL_USAGE_EVERY_MS = 60_000;
/** A balance below the top-up threshold without a fresh crossing re-checks at most this often. */
const TOP_UP_RECHECK_MS = 60_000;

const lastRun = new WeakMap<Database, Map<string, number>>();

/** True at most once per `everyMs` for (what, org) in this process. */
function due(database: Database, key: string, nowMs: number, everyMs: number): boolean {
  let m = lastRun.get(database);
  if (!m) {
    m = new Map();
    lastRun.set(database, m);
  }
  const last = m.get(key);
  if (last !== undefined && nowMs - last < everyMs && nowMs >= last) return false;
  m.set(key, nowMs);
  return true;
}

/**
 * Called by the credits ledger after a transaction that changed balances has COMMITTED (never
 * inside it, so a slow alert can't hold the org's lock). Evaluates low-balance and unusual-usage
 * alerts and auto top-up. Must not throw into the caller and must stay cheap on the hot path:
 * settings come from a per-process cache, and the database is touched only when a threshold was
 * crossed (the crossing itself is then decided there, exactly once across processes), when a
 * grant may complete a top-up, or once a minute per org for unusual usage.
 */
export async function afterBalanceChange(
  deps: Pick<Deps, 'database' | 'clock' | 'logger' | 'env'>,
  changes: readonly BalanceChange[],
): Promise<void> {
  for (const change of changes) {
    try {
      await evaluate(deps, change);
    } catch (err) {
      deps.logger.warn({ err, orgId: change.orgId }, 'credit alert evaluation failed');
    }
  }
}

async function evaluate(deps: Pick<Deps, 'database' | 'clock' | 'logger' | 'env'>, c: BalanceChange) {
  const nowMs = deps.clock.nowMs();
  const s = await cachedAlertSettings(deps.database, c.orgId, nowMs);
  if (!s) return;
  const low = s.lowBalance;
  if (low !== null) {
    if (c.before >= low && c.after < low) await evaluateLowBalance(deps, c.orgId, low, 'down');
    else if (c.before < low && c.after >= low) await evaluateLowBalance(deps, c.orgId, low, 'up');
  }
  if (s.unusualFactor !== null && c.consumed > 0) {
    countConsumption(deps.database, c.orgId, c.at, c.consumed);
    if (due(deps.database, `unusual:${c.orgId}`, nowMs, UNUSUAL_USAGE_EVERY_MS))
      await evaluateUnusualUsage(deps, c.orgId, s.unusualFactor);
  }
  if (s.autoTopUp) {
    // A grant may be the pack an in-flight top-up bought: release the claim.
    if (c.after > c.before) await completeAutoTopUp(deps, c.orgId);
    const { threshold } = s.autoTopUp;
    if (c.after < threshold) {
      const crossing = c.before >= threshold;
      if (crossing || due(deps.database, `topup:${c.orgId}`, nowMs, TOP_UP_RECHECK_MS))
        await claimAutoTopUp(deps, c.orgId, crossing);
    }
  }
}
