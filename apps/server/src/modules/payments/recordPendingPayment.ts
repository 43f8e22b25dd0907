import type Stripe from 'stripe';
import { payments } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';

/**
 * The payment's row in the org's history, `pending` until its webhooks say otherwise. A replayed
 * PaymentIntent (same idempotency key) finds its row and records nothing twice.
 */
export async function recordPendingPayment(
  deps: Pick<Deps, 'database'>,
  audit: AuditContext,
  orgId: string,
  pi: Stripe.PaymentIntent,
  observedAt: number,
) {
  await withOrgTx(deps.database, orgId, async (tx) => {
    const inserted = await tx
      .insert(payments)
      .values({
        id: pi.id,
        orgId,
        customerId: typeof pi.customer === 'string' ? pi.customer : (pi.customer?.id ?? null),
        amountCents: pi.amount,
        currency: pi.currency,
        status: 'pending',
        description: pi.description,
        stripeCreatedAt: new Date(pi.created * 1000),
        stripeUpdatedAt: observedAt,
      })
      .onConflictDoNothing({ target: payments.id })
      .returning({ id: payments.id });
    if (!inserted.length) return;
    await recordAudit(tx, audit, {
      orgId,
      action: 'payment_intent.created',
      targetType: 'payment_intent',
      targetId: pi.id,
      after: { amount: pi.amount, currency: pi.currency, description: pi.description },
    });
  });
}
