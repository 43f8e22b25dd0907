import type { Tx } from '../../db/client.ts';
import type { Env } from '../../env.ts';
import { type EnqueuedEmail, enqueueEmail } from './enqueueEmail.ts';
import { billingUrl } from './links.ts';

/**
 * The "credits low" email, for the credit alerts to call in the transaction that crossed the
 * threshold. `causeKey` names the crossing (e.g. `credits.low:<alertId>:<ledgerEntryId>`), so a
 * retried or concurrent check sends it once. Called by credit-alerts/evaluateLowBalance.ts with the alert.
 */
export function enqueueCreditsLowEmail(
  tx: Tx,
  env: Pick<Env, 'publicUrl'>,
  input: { causeKey: string; orgId: string; balance: number; threshold: number },
): Promise<EnqueuedEmail | null> {
  return enqueueEmail(tx, {
    causeKey: `email.credits_low:${input.causeKey}`,
    orgId: input.orgId,
    template: 'credits_low',
    data: {
      balance: input.balance,
      threshold: input.threshold,
      billingUrl: billingUrl(env, input.orgId),
    },
  });
}
