import { sql } from 'drizzle-orm';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { enqueueCreditsLowEmail } from '../emails/creditsLowEmail.ts';
import { raiseAlert } from './raiseAlert.ts';

type Rows<T> = { rows: T[] };

/**
 * Decides a low-balance crossing in the database. Called only when a change moved the balance
 * across `threshold` (in either direction). The conditional UPDATE reads the balance as it is
 * NOW, not the change's `after`, so changes reported out of order (several processes, each
 * after its own commit) still leave `low_balance_alerted` equal to "below the threshold", and
 * the row lock makes exactly one of many concurrent evaluators raise the alert.
 */
export async function evaluateLowBalance(
  deps: Pick<Deps, 'database' | 'clock' | 'env'>,
  orgId: string,
  threshold: number,
  direction: 'down' | 'up',
): Promise<void> {
  const now = deps.clock.now();
  await withOrgTx(deps.database, orgId, async (tx) => {
    if (direction === 'up') {
      await tx.execute(sql`
        UPDATE credit_settings SET low_balance_alerted = false
         WHERE org_id = ${orgId} AND low_balance_alerted
           AND coalesce((SELECT balance FROM credit_accounts WHERE org_id = ${orgId}), 0) >= ${threshold}`);
      return;
    }
    const r = (await tx.execute(sql`
      UPDATE credit_settings
         SET low_balance_alerted = true, low_balance_crossings = low_balance_crossings + 1
       WHERE org_id = ${orgId} AND NOT low_balance_alerted
         AND coalesce((SELECT balance FROM credit_accounts WHERE org_id = ${orgId}), 0) < ${threshold}
      RETURNING low_balance_crossings AS crossing,
        coalesce((SELECT balance FROM credit_accounts WHERE org_id = ${orgId}), 0) AS balance`)) as unknown as Rows<{
      crossing: number;
      balance: number;
    }>;
    const hit = r.rows[0];
    if (!hit) return;
    const causeKey = `credits.low:${orgId}:${hit.crossing}`;
    const balance = Number(hit.balance);
    const raised = await raiseAlert(tx, {
      orgId,
      kind: 'low_balance',
      causeKey,
      data: { balance, threshold },
      at: now,
    });
    // The email goes out with the alert, once per crossing (same cause).
    if (raised) await enqueueCreditsLowEmail(tx, deps.env, { causeKey, orgId, balance, threshold });
  });
}
