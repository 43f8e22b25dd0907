import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { creditRules } from './creditRules.ts';
import { ensureFreeAllocation } from './ensureFreeAllocation.ts';
import { findAccount, type GrantRow, listGrants, listLiveGrants } from './repo.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * The org's balance, by bucket (source + expiry) and grant. Grants past their expiry count for
 * nothing here even before the expiry job or the next consumption writes their 'expire' entry.
 */
export async function getCredits(deps: Deps, orgId: string) {
  const rules = await creditRules(deps);
  await ensureFreeAllocation(deps, orgId, rules);
  const now = deps.clock.now();
  return withOrgTx(deps.database, orgId, async (tx) => {
    const account = await findAccount(tx, orgId);
    const live = await listLiveGrants(tx, orgId, now);
    const buckets = new Map<
      string,
      { source: GrantRow['source']; balance: number; expires_at: string | null }
    >();
    for (const g of live) {
      const key = `${g.source}|${iso(g.expiresAt)}`;
      const b = buckets.get(key) ?? { source: g.source, balance: 0, expires_at: iso(g.expiresAt) };
      b.balance += g.remaining;
      buckets.set(key, b);
    }
    const grants = await listGrants(tx, orgId, 100);
    return {
      balance: live.reduce((s, g) => s + g.remaining, 0),
      overage: account?.overage ?? 0,
      precedence: rules.precedence,
      buckets: [...buckets.values()],
      grants: grants.map((g) => ({
        id: g.id,
        source: g.source,
        amount: g.amount,
        remaining: g.expiresAt && g.expiresAt <= now ? 0 : g.remaining,
        expires_at: iso(g.expiresAt),
        created_at: g.createdAt.toISOString(),
        reason: g.reason,
        revoked_at: iso(g.revokedAt),
      })),
    };
  });
}
