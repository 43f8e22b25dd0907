/**
 * Hooks for modules that own payments (invoices, checkout): they learn about every status
 * change of the intents they created (`owner`), including asynchronous ones — 3-D Secure
 * completed or failed by the customer, a later capture or cancel.
 */
import type Stripe from 'stripe';
import { defineHook } from '../../core/hooks.ts';
import type { IntentOwner } from './tables.ts';

export type IntentCause = 'create' | 'confirm' | 'authenticate' | 'capture' | 'cancel';

export const paymentIntentChanged = defineHook<{
  paymentIntent: Stripe.PaymentIntent;
  previousStatus: Stripe.PaymentIntent.Status | null;
  owner: IntentOwner | undefined;
  cause: IntentCause;
}>('payment_intent.changed');

export const setupIntentChanged = defineHook<{
  setupIntent: Stripe.SetupIntent;
  previousStatus: Stripe.SetupIntent.Status | null;
  owner: IntentOwner | undefined;
  cause: IntentCause;
}>('setup_intent.changed');
