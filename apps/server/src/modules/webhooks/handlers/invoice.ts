import { withOrgTx } from '../../../db/tx.ts';
import { recordAudit } from '../../audit/recordAudit.ts';
import { applyInvoice } from '../../invoices/applyInvoice.ts';
import { invoicePaymentOutcome } from '../../subscriptions/paymentOutcome.ts';
import { markActionRequired, markPastDue, markRecovered } from '../paymentState.ts';
import { type Handler, idOf } from './context.ts';

const stripeActor = (eventId: string, requestId: string | null = null) => ({
  actor: { type: 'stripe_event' as const, id: eventId },
  requestId,
});

/** Invoice events: re-read and apply the invoice; failure/recovery move the org's billing state. */
export const onInvoice: Handler = async ({ deps, event, orgId, object }) => {
  const id = idOf(object.id);
  if (!id) return 'ignored';
  if (event.type === 'invoice.deleted') return 'applied';
  const invoice = await deps.stripe.invoices.retrieve(id);
  let reason: string | null = null;
  if (event.type === 'invoice.payment_failed') {
    const { paymentIntent } = await invoicePaymentOutcome(deps, id).catch(() => ({ paymentIntent: null }));
    const e = paymentIntent?.last_payment_error;
    reason = e?.decline_code ?? e?.code ?? e?.message ?? 'payment_failed';
  }
  await withOrgTx(deps.database, orgId, async (tx) => {
    await applyInvoice(tx, orgId, invoice, deps.clock.nowMs());
    const audit = stripeActor(event.id);
    if (event.type === 'invoice.payment_failed' && invoice.status === 'open') {
      const r = await markPastDue(
        tx,
        orgId,
        reason ?? 'payment_failed',
        deps.clock.now(),
        deps.env.GRACE_PERIOD_DAYS,
      );
      await recordAudit(tx, audit, {
        orgId,
        action: 'billing.payment_failed',
        targetType: 'invoice',
        targetId: id,
        before: { billing_state: r?.before },
        after: {
          billing_state: 'past_due',
          reason,
          grace_ends_at: r?.graceEndsAt.toISOString(),
          attempt: invoice.attempt_count,
        },
      });
    } else if (event.type === 'invoice.payment_action_required' && invoice.status === 'open') {
      const r = await markActionRequired(tx, orgId, invoice.hosted_invoice_url ?? null);
      await recordAudit(tx, audit, {
        orgId,
        action: 'billing.payment_action_required',
        targetType: 'invoice',
        targetId: id,
        before: { billing_state: r?.before },
        after: { billing_state: 'action_required', url: invoice.hosted_invoice_url ?? null },
      });
    } else if (
      (event.type === 'invoice.paid' || event.type === 'invoice.payment_succeeded') &&
      invoice.status === 'paid'
    ) {
      const r = await markRecovered(tx, orgId);
      if (r.before !== 'ok')
        await recordAudit(tx, audit, {
          orgId,
          action: 'billing.payment_recovered',
          targetType: 'invoice',
          targetId: id,
          before: { billing_state: r.before },
          after: { billing_state: 'ok' },
        });
    }
  });
  return 'applied';
};
