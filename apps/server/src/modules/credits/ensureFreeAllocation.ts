import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import type { CreditRules } from './creditRules.ts';
import { grantCredits } from './ledger.ts';
import { notifyBalanceChanges } from './notifyBalanceChanges.ts';
import { hasLiveSubscription } from './repo.ts';

/** Per database: org → the month (YYYY-MM) whose free allocation this process has ensured. */
const ensured = new WeakMap<Deps['database'], Map<string, string>>();

export function freePeriod(now: Date) {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { key: start.toISOString().slice(0, 7), start, end };
}

/**
 * Orgs without a Stripe subscription are on the free plan, whose allocation is monthly (UTC
 * calendar months, expiring at the month's end). There is no invoice to trigger it, so it is
 * granted on first use (the ledger function publishes `credits.updated`) in the month — the first consumption or balance read — once per org and
 * month (cause `credits.free:<org>:<YYYY-MM>`), and this process remembers that it did so the
 * hot path pays one map lookup. An org with a live subscription gets its plan's allocation
 * from paid invoices instead.
 */
export async function ensureFreeAllocation(deps: Deps, orgId: string, rules: CreditRules): Promise<void> {
  if (!rules.freePlan) return;
  const now = deps.clock.now();
  const period = freePeriod(now);
  let seen = ensured.get(deps.database);
  if (!seen) {
    seen = new Map();
    ensured.set(deps.database, seen);
  }
  if (seen.get(orgId) === period.key) return;
  const plan = rules.freePlan;
  const change = await withOrgTx(deps.database, orgId, async (tx) => {
    if (await hasLiveSubscription(tx, orgId)) return null;
    const r = await grantCredits(
      tx,
      {
        orgId,
        source: 'subscription',
        amount: plan.perPeriod,
        expiresAt: period.end,
        causeKey: `credits.free:${orgId}:${period.key}`,
        sourceRef: `plan:${plan.key}`,
        reason: `${plan.key} plan: monthly allocation`,
      },
      now,
    );
    return r.change;
  });
  seen.set(orgId, period.key);
  await notifyBalanceChanges(deps, [change]);
}
