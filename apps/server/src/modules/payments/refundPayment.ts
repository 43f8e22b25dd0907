import Stripe from 'stripe';
import { refunds } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError, notFound, validationFailed } from '../../http/errors.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { formatMoney } from '../invoices/formatMoney.ts';
import { applyPayment, latestChargeOf } from './applyPayment.ts';
import { findCustomerId, findPayment, findPaymentWithInvoice } from './historyRepo.ts';
import { presentPayment } from './presentPayment.ts';
import { PAYMENT_EXPAND } from './syncPayments.ts';

export interface RefundInput {
  /** Minor units; default: everything not refunded yet. */
  amount?: number | undefined;
  reason?: Stripe.RefundCreateParams.Reason | undefined;
  /** The caller's name for this refund: the same key never refunds twice. */
  idempotencyKey: string;
}

/**
 * Operator action: refund a payment fully or partly. The refund's Stripe idempotency key is
 * derived from the org, the payment and the caller's key, so a retried request (a timeout, a
 * double click) replays the first refund instead of refunding twice; a replay is recognised by
 * the key kept in the refund's metadata even after the payment is fully refunded. Stripe is
 * asked for the current charge first, so an over-refund is refused with the amount that remains.
 */
export async function refundPayment(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock'>,
  audit: AuditContext,
  orgId: string,
  paymentId: string,
  input: RefundInput,
) {
  const customer = await withOrgTx(deps.database, orgId, (tx) => findCustomerId(tx, orgId));
  if (!customer) throw notFound('payment');
  const key = idempotencyKey(orgId, 'refund.create', paymentId, input.idempotencyKey);
  let refund: Stripe.Refund;
  try {
    const pi = await retrieveOwned(deps, customer, paymentId);
    const charge = latestChargeOf(pi);
    const replay = charge?.refunds?.data.find(
      (r) => r.metadata?.tollgate_idempotency_key === input.idempotencyKey,
    );
    if (replay) {
      refund = replay;
    } else {
      if (pi.status !== 'succeeded' || !charge)
        throw new DomainError(
          'conflict',
          `only a succeeded payment can be refunded; this one is ${pi.status}`,
          {
            field: 'payment',
          },
        );
      const remaining = charge.amount_captured - charge.amount_refunded;
      if (remaining <= 0 && input.amount === undefined)
        throw new DomainError('conflict', 'this payment is already fully refunded', { field: 'payment' });
      const amount = input.amount ?? remaining;
      if (amount > remaining) throw overRefund(amount, remaining, charge);
      refund = await withStripeRetry(
        () =>
          deps.stripe.refunds.create(
            {
              payment_intent: pi.id,
              amount,
              ...(input.reason ? { reason: input.reason } : {}),
              metadata: { tollgate_org_id: orgId, tollgate_idempotency_key: input.idempotencyKey },
            },
            { idempotencyKey: key },
          ),
        { retryConflicts: true },
      );
    }
  } catch (err) {
    throw refundError(err);
  }

  const observedAt = deps.clock.nowMs();
  const fresh = await retrieveOwned(deps, customer, paymentId).catch((err) => {
    throw stripeErrorToDomain(err, 'reading the refunded payment');
  });
  const createdBy = `${audit.actor.type}:${audit.actor.id ?? ''}`;
  return withOrgTx(deps.database, orgId, async (tx) => {
    const before = await findPayment(tx, orgId, paymentId);
    await applyPayment(tx, orgId, fresh, before?.invoiceId ?? null, observedAt);
    const row = {
      orgId,
      paymentId,
      amountCents: refund.amount,
      currency: refund.currency,
      reason: refund.reason,
      status: refund.status ?? 'succeeded',
      createdBy,
    };
    const inserted = await tx
      .insert(refunds)
      .values({ id: refund.id, ...row, createdAt: new Date(refund.created * 1000) })
      .onConflictDoUpdate({ target: refunds.id, set: { status: row.status, createdBy } })
      .returning({ id: refunds.id });
    const payment = await findPaymentWithInvoice(tx, orgId, paymentId);
    if (inserted.length)
      await recordAudit(tx, audit, {
        orgId,
        action: 'payment.refunded',
        targetType: 'payment',
        targetId: paymentId,
        before: before ? { status: before.status, amount_refunded_cents: before.amountRefundedCents } : null,
        after: {
          refund_id: refund.id,
          amount_cents: refund.amount,
          reason: refund.reason,
          status: payment?.status,
          amount_refunded_cents: payment?.amountRefundedCents,
        },
      });
    return {
      refund: {
        id: refund.id,
        amount_cents: refund.amount,
        currency: refund.currency,
        reason: refund.reason,
        status: refund.status ?? 'succeeded',
        created_at: new Date(refund.created * 1000).toISOString(),
      },
      payment: presentPayment(payment!),
    };
  });
}

/** The PaymentIntent, fresh from Stripe, if it belongs to this customer; anything else is 404. */
async function retrieveOwned(deps: Pick<Deps, 'stripe'>, customer: string, paymentId: string) {
  try {
    const pi = await withStripeRetry(() =>
      deps.stripe.paymentIntents.retrieve(paymentId, { expand: PAYMENT_EXPAND }),
    );
    const owner = typeof pi.customer === 'string' ? pi.customer : pi.customer?.id;
    if (owner !== customer) throw notFound('payment');
    return pi;
  } catch (err) {
    if (err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 404)
      throw notFound('payment');
    throw err;
  }
}

function overRefund(amount: number, remaining: number, charge: Stripe.Charge) {
  const m = (n: number) => formatMoney(n, charge.currency);
  return validationFailed([
    {
      field: 'amount',
      message: `${m(amount)} is more than can be refunded: ${m(remaining)} remains of ${m(charge.amount_captured)} (${m(charge.amount_refunded)} already refunded)`,
      in: 'body',
    },
  ]);
}

function refundError(err: unknown): DomainError {
  if (err instanceof DomainError) return err;
  if (err instanceof Stripe.errors.StripeIdempotencyError)
    return new DomainError(
      'idempotency_conflict',
      'idempotency_key was already used for a refund with another amount or reason',
      { field: 'idempotency_key' },
    );
  // A concurrent refund (another key) took the rest between our check and Stripe's.
  if (err instanceof Stripe.errors.StripeInvalidRequestError && err.code === 'amount_too_large')
    return validationFailed([{ field: 'amount', message: err.message, in: 'body' }]);
  if (err instanceof Stripe.errors.StripeInvalidRequestError && err.code === 'charge_already_refunded')
    return new DomainError('conflict', 'this payment is already fully refunded', { field: 'payment' });
  return stripeErrorToDomain(err, 'refunding the payment');
}
