import Stripe from 'stripe';
import type { Deps } from '../../deps.ts';
import { DomainError, validationFailed } from '../../http/errors.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import type { AuditContext } from '../audit/recordAudit.ts';
import { ensureCustomer } from '../customers/ensureCustomer.ts';
import { recordPendingPayment } from './recordPendingPayment.ts';

export interface OneOffPayment {
  /** Integer minor units. */
  amount: number;
  currency: string;
  description: string;
  /** The caller's name for the cause of this payment (an order id, ...): one payment per cause. */
  idempotencyKey: string;
}

/**
 * A one-off PaymentIntent for the org's customer, confirmed in the browser with the client
 * secret (Stripe Elements; 3-D Secure happens there). The card is not saved for later
 * (`setup_future_usage` unset). The same `idempotency_key` returns the same PaymentIntent; the
 * same key with another amount, currency or description is a 409.
 */
export async function createPaymentIntent(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock'>,
  audit: AuditContext,
  orgId: string,
  input: OneOffPayment,
) {
  const customer = await ensureCustomer(deps, orgId);
  let pi: Stripe.PaymentIntent;
  try {
    pi = await withStripeRetry(
      () =>
        deps.stripe.paymentIntents.create(
          {
            amount: input.amount,
            currency: input.currency,
            customer,
            description: input.description,
            allowed_payment_method_types: ['card'],
            metadata: { tollgate_org_id: orgId, tollgate_cause: input.idempotencyKey },
          },
          { idempotencyKey: idempotencyKey(orgId, 'payment_intent.create', input.idempotencyKey) },
        ),
      { retryConflicts: true, attempts: 5 },
    );
  } catch (err) {
    throw paymentError(err);
  }
  await recordPendingPayment(deps, audit, orgId, pi, deps.clock.nowMs());
  return {
    payment_intent_id: pi.id,
    client_secret: pi.client_secret!,
    status: pi.status,
    amount: pi.amount,
    currency: pi.currency,
  };
}

function paymentError(err: unknown): DomainError {
  if (err instanceof Stripe.errors.StripeIdempotencyError)
    return new DomainError(
      'idempotency_conflict',
      'idempotency_key was already used for a payment with another amount, currency or description',
      { field: 'idempotency_key' },
    );
  // Stripe's own limits (a currency it does not support, an amount below its minimum there) are
  // the caller's input, not our bug: name the field.
  if (
    err instanceof Stripe.errors.StripeInvalidRequestError &&
    (err.param === 'amount' || err.param === 'currency')
  )
    return validationFailed([{ field: err.param, message: err.message, in: 'body' }]);
  return stripeErrorToDomain(err, 'creating the payment');
}
