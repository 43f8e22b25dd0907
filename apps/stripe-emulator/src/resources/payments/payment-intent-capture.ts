/**
 * Capturing and canceling PaymentIntents (the end of the state machine in
 * payment-intent-ops.ts).
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { emitEvent, nowFor } from '../../core/events.ts';
import { invalidRequest, StripeApiError } from '../../http/errors.ts';
import { savePaymentIntent } from './payment-intent-ops.ts';
import { Charges } from './tables.ts';

export function capturePaymentIntent(
  ctx: Emulator,
  current: Stripe.PaymentIntent,
  amountToCapture?: number,
): Stripe.PaymentIntent {
  if (current.status !== 'requires_capture') {
    throw new StripeApiError({
      status: 400,
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message: `This PaymentIntent could not be captured because it has a status of ${current.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
      extra: { payment_intent: current },
    });
  }
  const amount = amountToCapture ?? current.amount_capturable;
  if (amount > current.amount_capturable || amount < 1) {
    throw invalidRequest(
      `The amount_to_capture (${amount}) must be positive and at most the amount capturable (${current.amount_capturable}).`,
      'amount_to_capture',
      'amount_too_large',
    );
  }
  const charges = ctx.store.of(Charges);
  const charge = charges.update(current.latest_charge as string, { captured: true, amount_captured: amount });
  const next = savePaymentIntent(
    ctx,
    { ...current, status: 'succeeded', amount_capturable: 0, amount_received: amount },
    current.status,
    'capture',
  );
  emitEvent(ctx, 'charge.captured', charge, { previousAttributes: { captured: false, amount_captured: 0 } });
  emitEvent(ctx, 'payment_intent.succeeded', next);
  return next;
}

const CANCELABLE = new Set([
  'requires_payment_method',
  'requires_capture',
  'requires_confirmation',
  'requires_action',
  'processing',
]);

export function cancelPaymentIntent(
  ctx: Emulator,
  current: Stripe.PaymentIntent,
  reason: Stripe.PaymentIntent.CancellationReason | null,
): Stripe.PaymentIntent {
  if (!CANCELABLE.has(current.status)) {
    throw new StripeApiError({
      status: 400,
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message: `You cannot cancel this PaymentIntent because it has a status of ${current.status}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.`,
      extra: { payment_intent: current },
    });
  }
  if (current.status === 'requires_capture' && typeof current.latest_charge === 'string') {
    // Canceling an authorization releases the held funds: the charge shows as refunded.
    const charges = ctx.store.of(Charges);
    const old = charges.get(current.latest_charge);
    if (old) charges.update(old.id, { refunded: true, amount_refunded: old.amount });
  }
  const next = savePaymentIntent(
    ctx,
    {
      ...current,
      status: 'canceled',
      canceled_at: nowFor(ctx, current),
      cancellation_reason: reason,
      amount_capturable: 0,
      next_action: null,
    },
    current.status,
    'cancel',
  );
  emitEvent(ctx, 'payment_intent.canceled', next);
  return next;
}
