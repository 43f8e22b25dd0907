import Stripe from 'stripe';
import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { defineTask, enqueueJobInSystemTx, PermanentJobError } from '../../jobs/index.ts';
import { classifyStripeError } from '../../stripe/classifyStripeError.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { failAutoTopUp, loadTopUpContext, markTopUpPaid } from './autoTopUpState.ts';
import { checkAutoTopUpTask } from './checkAutoTopUpTask.ts';

/** How long after a successful charge the pack grant is looked for if no grant cleared it. */
const CHECK_AFTER_MS = 10 * 60_000;

/**
 * Buys the org's auto top-up pack off-session with its default card. Runs at least once per
 * attempt: the idempotency key is (org, attempt), so a rerun gets the same payment intent.
 * The metadata is what a checkout pack purchase carries, so the ledger grants the pack from the
 * payment_intent.succeeded webhook exactly as it does for checkout.
 */
export const autoTopUpTask = defineTask({
  name: 'credits.auto_top_up',
  payload: z.object({ orgId: z.string(), attempt: z.number().int().positive() }),
  maxAttempts: 8,
  backoff: { baseMs: 5_000, maxMs: 300_000 },
  async run({ orgId, attempt }, ctx: { deps: Deps }) {
    const deps = ctx.deps;
    const c = await loadTopUpContext(deps, orgId, attempt);
    if (c.state === 'stale') return;
    if (c.state === 'failed') {
      await failAutoTopUp(deps, orgId, attempt, c.reason, null, c.message);
      return;
    }
    const { pack, customerId } = c;
    let pi: Stripe.PaymentIntent;
    try {
      const customer = await withStripeRetry(() => deps.stripe.customers.retrieve(customerId));
      const pm = customer.deleted ? null : customer.invoice_settings?.default_payment_method;
      const paymentMethod = typeof pm === 'string' ? pm : (pm?.id ?? null);
      if (!paymentMethod) {
        await failAutoTopUp(deps, orgId, attempt, 'no_default_payment_method', null, 'no default card');
        return;
      }
      pi = await withStripeRetry(() =>
        deps.stripe.paymentIntents.create(
          {
            amount: pack.amount,
            currency: pack.currency,
            customer: customerId,
            payment_method: paymentMethod,
            confirm: true,
            off_session: true,
            description: `Auto top-up: ${pack.name}`,
            metadata: {
              tollgate_org_id: orgId,
              tollgate_purpose: 'credit_packs',
              tollgate_packs: `${pack.key}:1`,
              tollgate_credits: String(pack.credits),
              tollgate_auto_top_up: 'true',
            },
          },
          { idempotencyKey: idempotencyKey(orgId, 'credits.auto_top_up', attempt) },
        ),
      );
    } catch (err) {
      const kind = classifyStripeError(err);
      if (err instanceof Stripe.errors.StripeCardError) {
        const e = err;
        const piId = (e.payment_intent as { id?: string } | undefined)?.id ?? null;
        await failAutoTopUp(
          deps,
          orgId,
          attempt,
          e.decline_code ?? e.code ?? 'card_declined',
          piId,
          e.message,
        );
        return;
      }
      if (kind === 'invalid' || kind === 'auth') {
        await failAutoTopUp(deps, orgId, attempt, 'stripe_error', null, String((err as Error).message));
        throw new PermanentJobError(String(err));
      }
      throw err; // transient: retried with the same idempotency key
    }
    if (pi.status === 'succeeded' || pi.status === 'processing') {
      await markTopUpPaid(deps, orgId, attempt, pi, pack);
      await enqueueJobInSystemTx(
        deps.database,
        checkAutoTopUpTask.job(
          { orgId, paymentIntentId: pi.id },
          {
            dedupeKey: `credits.auto_top_up_check:${pi.id}`,
            runAt: new Date(deps.clock.nowMs() + CHECK_AFTER_MS),
          },
        ),
      );
      return;
    }
    const reason = pi.status === 'requires_action' ? 'authentication_required' : pi.status;
    const message = pi.last_payment_error?.message ?? `payment ${pi.status}`;
    await failAutoTopUp(deps, orgId, attempt, reason, pi.id, message);
  },
});
