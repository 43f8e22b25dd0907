/**
 * /v1/refunds: full and partial refunds of a succeeded charge (by `charge` or
 * `payment_intent`). Card refunds succeed immediately in test mode.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { diff, emitEvent, nowFor } from '../../core/events.ts';
import { defineHook, runHook } from '../../core/hooks.ts';
import { inRange, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { invalidRequest } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { mergeMetadata } from '../shared.ts';
import { Charges, PaymentIntents, Refunds } from './tables.ts';

/** After a refund succeeded (credit notes / invoices may want to know). */
export const refundCreated = defineHook<{ refund: Stripe.Refund; charge: Stripe.Charge }>('refund.created');

function money(amount: number, currency: string): string {
  return `${(amount / 100).toFixed(2)} ${currency}`;
}

export interface CreateRefundInput {
  charge: Stripe.Charge;
  amount?: number;
  reason?: Stripe.Refund.Reason | null;
  metadata?: Stripe.Metadata;
}

export function createRefund(ctx: Emulator, input: CreateRefundInput): Stripe.Refund {
  const { charge } = input;
  if (charge.status !== 'succeeded' || !charge.captured) {
    throw invalidRequest(
      `Charge ${charge.id} cannot be refunded because it has not succeeded and been captured.`,
      'charge',
      'charge_not_refundable',
    );
  }
  const remaining = charge.amount_captured - charge.amount_refunded;
  if (remaining <= 0) {
    throw invalidRequest(
      `Charge ${charge.id} has already been refunded.`,
      'charge',
      'charge_already_refunded',
    );
  }
  const amount = input.amount ?? remaining;
  if (amount > remaining) {
    throw invalidRequest(
      `Refund amount (${money(amount, charge.currency)}) is greater than unrefunded amount on charge (${money(remaining, charge.currency)})`,
      'amount',
      'amount_too_large',
    );
  }
  const table = ctx.store.of(Refunds);
  const refund = table.insert({
    id: table.newId(),
    object: 'refund',
    amount,
    balance_transaction: null,
    charge: charge.id,
    created: nowFor(ctx, charge),
    currency: charge.currency,
    customer: charge.customer as string | null,
    customer_account: null,
    destination_details: {
      type: 'card',
      card: { reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' },
    } as Stripe.Refund.DestinationDetails,
    metadata: input.metadata ?? {},
    payment_intent: charge.payment_intent as string | null,
    payment_method: charge.payment_method,
    reason: input.reason ?? null,
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
  });
  const refunded = charge.amount_refunded + amount;
  const updated = ctx.store.of(Charges).update(charge.id, {
    amount_refunded: refunded,
    refunded: refunded >= charge.amount_captured,
  });
  emitEvent(ctx, 'refund.created', refund);
  emitEvent(ctx, 'charge.refunded', updated, {
    previousAttributes: { amount_refunded: charge.amount_refunded, refunded: charge.refunded },
  });
  runHook(ctx, refundCreated, { refund, charge: updated });
  return refund;
}

export const refundsModule: EmulatorModule = {
  name: 'refunds',
  register(app) {
    app.post(
      '/v1/refunds',
      {
        charge: p.string(),
        payment_intent: p.string(),
        amount: p.int({ min: 1 }),
        reason: p.enum(['duplicate', 'fraudulent', 'requested_by_customer']),
        metadata: p.metadata(),
        refund_application_fee: p.bool(),
        reverse_transfer: p.bool(),
        instructions_email: p.string(),
        origin: p.enum(['customer_balance']),
        currency: p.currency(),
        customer: p.string(),
      },
      (req) => {
        const { ctx, params } = req;
        let chargeId = params.charge;
        if (!chargeId && params.payment_intent) {
          const pi = ctx.store.of(PaymentIntents).require(params.payment_intent, 'payment_intent');
          if (typeof pi.latest_charge !== 'string' || pi.status !== 'succeeded') {
            throw invalidRequest(
              `This PaymentIntent (${pi.id}) does not have a successful charge to refund.`,
              'payment_intent',
              'charge_not_refundable',
            );
          }
          chargeId = pi.latest_charge;
        }
        if (!chargeId) {
          throw invalidRequest(
            'One of the following params should be provided for this request: payment_intent or charge.',
          );
        }
        const charge = ctx.store.of(Charges).require(chargeId, 'charge');
        return createRefund(ctx, {
          charge,
          amount: params.amount,
          reason: params.reason ?? null,
          metadata: mergeMetadata({}, params.metadata),
        });
      },
    );

    app.get('/v1/refunds/:id', {}, (req) => req.ctx.store.of(Refunds).require(req.path.id!));

    app.post('/v1/refunds/:id', { metadata: p.metadata() }, (req) => {
      const table = req.ctx.store.of(Refunds);
      const old = table.require(req.path.id!);
      const next = table.replace({
        ...old,
        metadata: mergeMetadata(old.metadata ?? {}, req.params.metadata),
      });
      emitEvent(req.ctx, 'refund.updated', next, { previousAttributes: diff(old, next) });
      return next;
    });

    app.post('/v1/refunds/:id/cancel', {}, (req) => {
      const refund = req.ctx.store.of(Refunds).require(req.path.id!);
      throw invalidRequest(
        `Refund ${refund.id} cannot be canceled because it has a status of ${refund.status}. Only refunds with status requires_action can be canceled.`,
        undefined,
        'refund_unexpected_state',
      );
    });

    app.list('/v1/refunds', { charge: p.string(), payment_intent: p.string(), created: p.range() }, (req) => {
      const { charge, payment_intent, created } = req.params;
      const table = req.ctx.store.of(Refunds);
      const rows = table.sorted(
        (r) =>
          (!charge || r.charge === charge) &&
          (!payment_intent || r.payment_intent === payment_intent) &&
          inRange(r.created, created),
      );
      return paginate(req, rows, table);
    });
  },
};
