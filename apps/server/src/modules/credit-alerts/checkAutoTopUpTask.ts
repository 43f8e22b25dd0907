import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { defineTask, RetryJobError } from '../../jobs/index.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { failAutoTopUp } from './autoTopUpState.ts';
import { completeAutoTopUp } from './claimAutoTopUp.ts';
import { findCreditSettings } from './getCreditSettings.ts';

const RECHECK_MS = 10 * 60_000;
/** A charged top-up whose grant never appears is released after this (logged loudly). */
const GIVE_UP_MS = 24 * 3_600_000;

/**
 * Backstop for a purchase the grant did not clear: while the payment intent is still in flight,
 * re-reads it; a failed one ends the attempt with an alert, a succeeded one waits for its grant.
 */
export const checkAutoTopUpTask = defineTask({
  name: 'credits.auto_top_up_check',
  payload: z.object({ orgId: z.string(), paymentIntentId: z.string() }),
  maxAttempts: 200,
  async run({ orgId, paymentIntentId }, ctx: { deps: Deps }) {
    const deps = ctx.deps;
    const settings = await withOrgTx(deps.database, orgId, (tx) => findCreditSettings(tx, orgId));
    if (settings?.autoTopUpInFlight !== paymentIntentId) return;
    if (await completeAutoTopUp(deps, orgId)) return;
    const pi = await withStripeRetry(() => deps.stripe.paymentIntents.retrieve(paymentIntentId));
    const attempt = settings.autoTopUpAttempts;
    if (pi.status === 'canceled' || pi.status === 'requires_payment_method') {
      await failAutoTopUp(
        deps,
        orgId,
        attempt,
        pi.last_payment_error?.code ?? pi.status,
        pi.id,
        'payment failed',
      );
      return;
    }
    const startedAt = settings.autoTopUpStartedAt?.getTime() ?? 0;
    if (deps.clock.nowMs() - startedAt > GIVE_UP_MS) {
      deps.logger.error(
        { orgId, paymentIntentId },
        'auto top-up charged but no pack grant after 24h; released',
      );
      await withOrgTx(deps.database, orgId, (tx) =>
        tx.execute(sql`UPDATE credit_settings SET auto_top_up_in_flight = NULL
                        WHERE org_id = ${orgId} AND auto_top_up_in_flight = ${paymentIntentId}`),
      );
      return;
    }
    throw new RetryJobError('waiting for the pack grant', RECHECK_MS);
  },
});
