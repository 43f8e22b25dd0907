import { and, eq, gt } from 'drizzle-orm';
import { invoices } from '../../../db/schema/index.ts';
import { withOrgTx } from '../../../db/tx.ts';
import { recordAudit } from '../../audit/recordAudit.ts';
import type { BalanceChange } from '../../credit-alerts/afterBalanceChange.ts';
import { notifyBalanceChanges } from '../../credits/notifyBalanceChanges.ts';
import { enqueueEmail } from '../../emails/enqueueEmail.ts';
import { billingUrl } from '../../emails/links.ts';
import { applyInvoice } from '../../invoices/applyInvoice.ts';
import { publishOrgChange } from '../../live/publishOrgChange.ts';
import { emitOutgoing } from '../../outgoing-webhooks/emitOutgoing.ts';
import { recordSideEffect } from '../../outgoing-webhooks/recordSideEffect.ts';
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
  const creditChanges: BalanceChange[] = [];
  await withOrgTx(deps.database, orgId, async (tx) => {
    await applyInvoice(tx, orgId, invoice, deps.clock.nowMs(), creditChanges);
    const audit = stripeActor(event.id);
    const attempt = invoice.attempt_count ?? 0;
    // Each effect is claimed by its cause (the invoice and attempt), so a duplicate, late or
    // replayed event changes state again harmlessly but audits and notifies only once.
    const once = (key: string) => recordSideEffect(tx, { key, orgId, kind: 'billing_state' });
    await publishOrgChange(tx, orgId, {
      type: 'invoice.updated',
      id,
      data: { status: invoice.status, number: invoice.number },
    });
    if (event.type === 'invoice.payment_failed' && invoice.status === 'open') {
      // The grace period runs from the failure (Stripe's first collection attempt, at
      // finalization), not from when we happen to process the event: a delayed, reordered or
      // redelivered event must neither extend it nor make it depend on delivery order.
      const failedAt = new Date((invoice.status_transitions?.finalized_at ?? event.created) * 1000);
      const r = await markPastDue(
        tx,
        orgId,
        reason ?? 'payment_failed',
        failedAt,
        deps.env.GRACE_PERIOD_DAYS,
      );
      await publishOrgChange(tx, orgId, { type: 'billing.past_due', id, data: { reason } });
      if (!(await once(`billing.payment_failed:${id}:${attempt}`))) return;
      await emitOutgoing(tx, {
        orgId,
        type: 'payment.failed',
        causeKey: `payment.failed:${id}:${attempt}`,
        data: {
          invoice: id,
          amount_due: invoice.amount_due,
          currency: invoice.currency,
          reason,
          attempt,
          grace_ends_at: r?.graceEndsAt.toISOString() ?? null,
        },
      });
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
      await enqueueEmail(tx, {
        causeKey: `email.payment_failed:${id}:${attempt}`,
        orgId,
        template: 'payment_failed',
        data: {
          invoice: invoice.number ?? id,
          amountDue: invoice.amount_due,
          currency: invoice.currency,
          reason: reason ?? 'payment_failed',
          graceEndsAt: r?.graceEndsAt.toISOString() ?? null,
          hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
          billingUrl: billingUrl(deps.env, orgId),
        },
      });
    } else if (event.type === 'invoice.payment_action_required' && invoice.status === 'open') {
      const r = await markActionRequired(tx, orgId, invoice.hosted_invoice_url ?? null);
      await publishOrgChange(tx, orgId, { type: 'billing.action_required', id });
      if (!(await once(`billing.action_required:${id}:${attempt}`))) return;
      await emitOutgoing(tx, {
        orgId,
        type: 'payment.action_required',
        causeKey: `payment.action_required:${id}:${attempt}`,
        data: { invoice: id, hosted_invoice_url: invoice.hosted_invoice_url ?? null },
      });
      await recordAudit(tx, audit, {
        orgId,
        action: 'billing.payment_action_required',
        targetType: 'invoice',
        targetId: id,
        before: { billing_state: r?.before },
        after: { billing_state: 'action_required', url: invoice.hosted_invoice_url ?? null },
      });
      await enqueueEmail(tx, {
        causeKey: `email.payment_action_required:${id}:${attempt}`,
        orgId,
        template: 'payment_action_required',
        data: {
          invoice: invoice.number ?? id,
          amountDue: invoice.amount_due,
          currency: invoice.currency,
          hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
          billingUrl: billingUrl(deps.env, orgId),
        },
      });
    } else if (
      (event.type === 'invoice.paid' || event.type === 'invoice.payment_succeeded') &&
      invoice.status === 'paid'
    ) {
      // Recovered only when no invoice is left failing: a late or replayed `paid` for an older
      // invoice must not clear a failure on a newer one.
      const stillFailing = await tx
        .select({ id: invoices.id })
        .from(invoices)
        .where(and(eq(invoices.orgId, orgId), eq(invoices.status, 'open'), gt(invoices.attemptCount, 0)));
      const r = stillFailing.length ? { before: 'ok' as const } : await markRecovered(tx, orgId);
      if (r.before !== 'ok') await publishOrgChange(tx, orgId, { type: 'billing.recovered', id });
      if (r.before !== 'ok' && (await once(`billing.recovered:${id}`))) {
        await emitOutgoing(tx, {
          orgId,
          type: 'payment.recovered',
          causeKey: `payment.recovered:${id}`,
          data: { invoice: id },
        });
        await recordAudit(tx, audit, {
          orgId,
          action: 'billing.payment_recovered',
          targetType: 'invoice',
          targetId: id,
          before: { billing_state: r.before },
          after: { billing_state: 'ok' },
        });
        await enqueueEmail(tx, {
          causeKey: `email.payment_recovered:${id}`,
          orgId,
          template: 'payment_recovered',
          data: {
            invoice: invoice.number ?? id,
            amountPaid: invoice.amount_paid,
            currency: invoice.currency,
          },
        });
      }
    }
    if (invoice.status === 'paid' && event.type === 'invoice.paid')
      await emitOutgoing(tx, {
        orgId,
        type: 'invoice.paid',
        causeKey: `invoice.paid:${id}`,
        data: {
          invoice: id,
          number: invoice.number,
          amount_paid: invoice.amount_paid,
          currency: invoice.currency,
        },
      });
  });
  await notifyBalanceChanges(deps, creditChanges);
  return 'applied';
};
