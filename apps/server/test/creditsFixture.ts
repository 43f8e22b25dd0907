import { sql } from 'drizzle-orm';
import { withSystemTx } from '../src/db/tx.ts';
import type { BalanceChange } from '../src/modules/credit-alerts/afterBalanceChange.ts';
import type { TestApp } from './harness.ts';

/**
 * TEST FIXTURE, not the credits ledger: writes a balance change straight into credit_accounts
 * and credit_ledger (one consume or grant entry) the way the ledger's transaction would, and
 * returns the BalanceChange the ledger reports to afterBalanceChange after committing.
 */
export async function fixtureBalanceChange(
  t: TestApp,
  orgId: string,
  after: number,
  opts: { at?: Date; grant?: { source: 'pack' | 'subscription'; sourceRef?: string } } = {},
): Promise<BalanceChange> {
  const at = opts.at ?? t.deps.clock.now();
  const before = await withSystemTx(t.deps.database, async (tx) => {
    const r = (await tx.execute(sql`
      INSERT INTO credit_accounts (org_id, balance) VALUES (${orgId}, 0)
      ON CONFLICT (org_id) DO UPDATE SET balance = credit_accounts.balance
      RETURNING balance`)) as unknown as { rows: { balance: number }[] };
    const prior = Number(r.rows[0]!.balance);
    const delta = after - prior;
    await tx.execute(sql`UPDATE credit_accounts SET balance = ${after} WHERE org_id = ${orgId}`);
    let grantId: string | null = null;
    if (delta > 0) {
      grantId = `grt_fixture_${Math.random().toString(36).slice(2)}`;
      const source = opts.grant?.source ?? 'manual';
      const ref = opts.grant?.sourceRef ?? null;
      await tx.execute(sql`
        INSERT INTO credit_grants (id, org_id, source, amount, remaining, cause_key, source_ref)
        VALUES (${grantId}, ${orgId}, ${source}, ${delta}, ${delta},
                ${ref ? `credits.pack:${ref}:fixture` : `fixture:${grantId}`}, ${ref})`);
    }
    if (delta !== 0)
      await tx.execute(sql`
        INSERT INTO credit_ledger (org_id, kind, grant_id, amount, balance_after, created_at)
        VALUES (${orgId}, ${delta > 0 ? 'grant' : 'consume'}, ${grantId}, ${delta}, ${after}, ${at.toISOString()})`);
    return prior;
  });
  return { orgId, before, after, consumed: Math.max(0, before - after), at };
}
