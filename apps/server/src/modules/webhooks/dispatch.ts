import type { Handler } from './handlers/context.ts';
import { onInvoice } from './handlers/invoice.ts';
import { onCustomer, onDispute, onPayment, onPaymentMethod } from './handlers/payments.ts';
import { onCheckoutSession, onSubscription } from './handlers/subscription.ts';

/**
 * The one dispatch table, shared by live delivery and replay. Every event type Tollgate acts on
 * is listed; anything else is stored and marked ignored.
 */
export const HANDLERS: Record<string, Handler> = {
  'customer.updated': onCustomer,
  'customer.deleted': onCustomer,
  'customer.subscription.created': onSubscription,
  'customer.subscription.updated': onSubscription,
  'customer.subscription.deleted': onSubscription,
  'customer.subscription.trial_will_end': onSubscription,
  'customer.subscription.paused': onSubscription,
  'customer.subscription.resumed': onSubscription,
  'customer.subscription.pending_update_applied': onSubscription,
  'customer.subscription.pending_update_expired': onSubscription,
  'invoice.created': onInvoice,
  'invoice.finalized': onInvoice,
  'invoice.updated': onInvoice,
  'invoice.paid': onInvoice,
  'invoice.payment_succeeded': onInvoice,
  'invoice.payment_failed': onInvoice,
  'invoice.payment_action_required': onInvoice,
  'invoice.upcoming': onInvoice,
  'invoice.voided': onInvoice,
  'invoice.marked_uncollectible': onInvoice,
  'invoice.finalization_failed': onInvoice,
  'invoice.sent': onInvoice,
  'invoice.deleted': onInvoice,
  'invoice_payment.paid': onPayment,
  'payment_intent.created': onPayment,
  'payment_intent.succeeded': onPayment,
  'payment_intent.payment_failed': onPayment,
  'payment_intent.requires_action': onPayment,
  'payment_intent.canceled': onPayment,
  'payment_intent.processing': onPayment,
  'charge.succeeded': onPayment,
  'charge.failed': onPayment,
  'charge.refunded': onPayment,
  'charge.captured': onPayment,
  'refund.created': onPayment,
  'refund.updated': onPayment,
  'refund.failed': onPayment,
  'charge.dispute.created': onDispute,
  'payment_method.attached': onPaymentMethod,
  'payment_method.detached': onPaymentMethod,
  'payment_method.updated': onPaymentMethod,
  'setup_intent.succeeded': onPaymentMethod,
  'checkout.session.completed': onCheckoutSession,
  'checkout.session.expired': onCheckoutSession,
  'checkout.session.async_payment_succeeded': onCheckoutSession,
  'checkout.session.async_payment_failed': onCheckoutSession,
};
