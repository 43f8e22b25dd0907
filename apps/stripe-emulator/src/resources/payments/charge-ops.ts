/**
 * Charges are created by PaymentIntent confirmation (one per attempt, failed or not).
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { randomAlphanumeric } from '../../core/ids.ts';
import { Charges } from './tables.ts';

export interface ChargeFailure {
  code: string;
  decline_code: string;
  message: string;
  /** Radar blocked it rather than the issuer declining it. */
  blocked?: boolean;
}

export interface ChargeInput {
  paymentIntent: Stripe.PaymentIntent;
  paymentMethod: Stripe.PaymentMethod;
  captured: boolean;
  authenticated: boolean;
  failure?: ChargeFailure;
  created: number;
}

function outcome(failure: ChargeFailure | undefined): Stripe.Charge.Outcome {
  const base = { advice_code: null, network_advice_code: null, network_decline_code: null, rule: undefined };
  if (!failure) {
    return {
      ...base,
      network_status: 'approved_by_network',
      reason: null,
      risk_level: 'normal',
      risk_score: 20,
      seller_message: 'Payment complete.',
      type: 'authorized',
    };
  }
  if (failure.blocked) {
    return {
      ...base,
      network_status: 'not_sent_to_network',
      reason: 'highest_risk_level',
      risk_level: 'highest',
      risk_score: 95,
      seller_message: 'Stripe blocked this payment as too risky.',
      type: 'blocked',
    };
  }
  return {
    ...base,
    network_status: 'declined_by_network',
    reason: failure.decline_code,
    risk_level: 'normal',
    risk_score: 20,
    seller_message: 'The bank did not return any further details with this decline.',
    type: 'issuer_declined',
  };
}

export function createCharge(ctx: Emulator, input: ChargeInput): Stripe.Charge {
  const { paymentIntent: pi, paymentMethod: pm, failure } = input;
  const table = ctx.store.of(Charges);
  const card = pm.card;
  const succeeded = !failure;
  const charge: Stripe.Charge = {
    id: table.newId(),
    object: 'charge',
    amount: pi.amount,
    amount_captured: succeeded && input.captured ? pi.amount : 0,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: null,
    billing_details: { ...pm.billing_details },
    calculated_statement_descriptor: pi.statement_descriptor ?? 'TOLLGATE',
    captured: succeeded && input.captured,
    created: input.created,
    currency: pi.currency,
    customer: typeof pi.customer === 'string' ? pi.customer : null,
    description: pi.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: failure?.code ?? null,
    failure_message: failure?.message ?? null,
    fraud_details: {},
    livemode: false,
    metadata: { ...pi.metadata },
    on_behalf_of: null,
    outcome: outcome(failure),
    paid: succeeded,
    payment_intent: pi.id,
    payment_method: pm.id,
    payment_method_details: {
      type: 'card',
      card: card
        ? ({
            amount_authorized: succeeded ? pi.amount : null,
            authorization_code: succeeded ? randomAlphanumeric(6).toUpperCase() : null,
            brand: card.brand,
            checks: card.checks,
            country: card.country,
            electronic_commerce_indicator: null,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            fingerprint: card.fingerprint,
            funding: card.funding,
            installments: null,
            last4: card.last4,
            mandate: null,
            network: card.brand,
            network_token: { used: false },
            network_transaction_id: succeeded ? randomAlphanumeric(15) : null,
            regulated_status: 'unregulated',
            three_d_secure: input.authenticated
              ? {
                  authentication_flow: 'challenge',
                  result: 'authenticated',
                  result_reason: null,
                  version: '2.2.0',
                }
              : null,
            transaction_link_id: null,
            wallet: null,
          } as Stripe.Charge.PaymentMethodDetails.Card)
        : undefined,
    },
    receipt_email: pi.receipt_email,
    receipt_number: null,
    receipt_url: null,
    refunded: false,
    review: null,
    shipping: pi.shipping,
    source: null,
    source_transfer: null,
    statement_descriptor: pi.statement_descriptor,
    statement_descriptor_suffix: pi.statement_descriptor_suffix,
    status: succeeded ? 'succeeded' : 'failed',
    transfer_data: null,
    transfer_group: null,
  };
  return table.insert(charge);
}
