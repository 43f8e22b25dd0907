import { eq } from 'drizzle-orm';
import { organizations } from '../../../db/schema/index.ts';
import { withOrgTx } from '../../../db/tx.ts';
import { recordAudit } from '../../audit/recordAudit.ts';
import { applyCreditPayment } from '../../credits/applyCreditPayment.ts';
import { recordSideEffect } from '../../outgoing-webhooks/recordSideEffect.ts';
import { listPaymentMethods } from '../../payment-methods/listPaymentMethods.ts';
import { syncPayments } from '../../payments/syncPayments.ts';
import { type Handler, idOf } from './context.ts';

/** Payment intents, charges, refunds: the org's payment history is re-read from Stripe. */
export const onPayment: Handler = async ({ deps, event, orgId, object }) => {
  await syncPayments(deps, orgId);
  // Pack purchases grant credits; their refunds revoke what is left.
  await applyCreditPayment(deps, orgId, event.type, object);
  return 'applied';
};

/** Cards attached, detached or updated elsewhere (Elements, the Portal): refresh the summaries. */
export const onPaymentMethod: Handler = async ({ deps, orgId }) => {
  await listPaymentMethods(deps, orgId);
  return 'applied';
};

/** Disputes are rare and serious: recorded in the audit log and the payment history. */
export const onDispute: Handler = async ({ deps, event, orgId, object }) => {
  await syncPayments(deps, orgId);
  await withOrgTx(deps.database, orgId, async (tx) => {
    // Once per dispute, however often the event is delivered or replayed.
    const key = `payment.disputed:${idOf(object.id) ?? event.id}`;
    if (!(await recordSideEffect(tx, { key, orgId, kind: 'audit' }))) return;
    await recordAudit(
      tx,
      { actor: { type: 'stripe_event', id: event.id }, requestId: null },
      {
        orgId,
        action: 'payment.disputed',
        targetType: 'charge',
        targetId: idOf(object.charge) ?? undefined,
        after: { amount: object.amount, reason: object.reason, status: object.status },
      },
    );
  });
  return 'applied';
};

/** The customer changed in Stripe (the Portal, the dashboard): the org's billing profile follows. */
export const onCustomer: Handler = async ({ deps, event, orgId, object }) => {
  if (event.type === 'customer.deleted') {
    await withOrgTx(deps.database, orgId, (tx) =>
      tx.update(organizations).set({ stripeCustomerId: null }).where(eq(organizations.id, orgId)),
    );
    return 'applied';
  }
  const cus = await deps.stripe.customers.retrieve(idOf(object.id)!);
  if ('deleted' in cus && cus.deleted) return 'ignored';
  await withOrgTx(deps.database, orgId, (tx) =>
    tx
      .update(organizations)
      .set({
        billingEmail: cus.email ?? null,
        ...(cus.address ? { address: cus.address as unknown as Record<string, string | null> } : {}),
      })
      .where(eq(organizations.id, orgId)),
  );
  return 'applied';
};
