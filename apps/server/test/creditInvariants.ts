import { expect } from 'vitest';
import type { Database } from '../src/db/client.ts';

/**
 * The ledger's invariants for one org, read straight from the tables:
 *  - sum of its non-overage ledger amounts (grants − consumed − expired − revoked)
 *    = credit_accounts.balance = sum of `remaining` over its grants;
 *  - per grant: amount + its consume/expire/revoke entries = remaining, and 0 ≤ remaining ≤ amount;
 *  - overage entries sum to −credit_accounts.overage; the balance is never negative;
 *  - each ledger row's balance_after is the running sum at that row.
 */
export async function checkInvariants(database: Database, orgId: string) {
  const q = <T>(text: string) => database.query<T>(text, [orgId]);
  const [acc] = await q<{ balance: number; overage: number }>(
    'SELECT balance, overage FROM credit_accounts WHERE org_id = $1',
  );
  const balance = acc?.balance ?? 0;
  const [sums] = await q<{ ledger: string | null; overage: string | null }>(
    `SELECT sum(amount) FILTER (WHERE kind <> 'overage') AS ledger, sum(amount) FILTER (WHERE kind = 'overage') AS overage
       FROM credit_ledger WHERE org_id = $1`,
  );
  const [grants] = await q<{ remaining: string | null }>(
    'SELECT sum(remaining) AS remaining FROM credit_grants WHERE org_id = $1',
  );
  expect(Number(sums?.ledger ?? 0), `ledger sum = balance for ${orgId}`).toBe(balance);
  expect(Number(grants?.remaining ?? 0), `grants remaining = balance for ${orgId}`).toBe(balance);
  expect(-Number(sums?.overage ?? 0) || 0).toBe(acc?.overage ?? 0);
  expect(balance).toBeGreaterThanOrEqual(0);
  const perGrant = await q<{ id: string; amount: number; remaining: number; net: string }>(
    `SELECT g.id, g.amount, g.remaining, coalesce(sum(l.amount), 0) AS net
       FROM credit_grants g LEFT JOIN credit_ledger l ON l.grant_id = g.id AND l.org_id = g.org_id
      WHERE g.org_id = $1 GROUP BY g.id`,
  );
  for (const g of perGrant) {
    expect(Number(g.net), `grant ${g.id}`).toBe(g.remaining);
    expect(g.remaining).toBeGreaterThanOrEqual(0);
    expect(g.remaining).toBeLessThanOrEqual(g.amount);
  }
  const rows = await q<{ kind: string; amount: number; balance_after: number }>(
    'SELECT kind, amount, balance_after FROM credit_ledger WHERE org_id = $1 ORDER BY id',
  );
  let running = 0;
  for (const r of rows) {
    if (r.kind !== 'overage') running += r.amount;
    expect(r.balance_after).toBe(running);
  }
  return { balance, overage: acc?.overage ?? 0 };
}
