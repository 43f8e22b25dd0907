/**
 * Parameters that create a card PaymentMethod: `POST /v1/payment_methods` and the
 * `payment_method_data` of intents. Raw numbers are checked (Luhn, expiry) and reduced to
 * brand/last4/fingerprint plus a behaviour tag; the number and CVC are dropped here.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { invalidRequest, StripeApiError } from '../../http/errors.ts';
import { type Infer, p } from '../../http/params.ts';
import { addressParams, mergeMetadata, toAddress } from '../shared.ts';
import { cardFromNumber, luhnValid, magicCard, type TestCard } from './cards.ts';
import { createCardPaymentMethod } from './payment-method-ops.ts';

export const cardParams = p.object({
  number: p.string(),
  exp_month: p.int(),
  exp_year: p.int(),
  cvc: p.string(),
  token: p.string(),
  networks: p.any(),
});

export const billingDetailsParams = p.object({
  address: p.emptyable(addressParams),
  email: p.emptyable(p.string()),
  name: p.emptyable(p.string()),
  phone: p.emptyable(p.string()),
  tax_id: p.string(),
});

export const allowRedisplay = p.enum(['always', 'limited', 'unspecified']);

export const paymentMethodDataParams = p.object({
  type: p.required(p.string()),
  card: cardParams,
  billing_details: billingDetailsParams,
  metadata: p.metadata(),
  allow_redisplay: allowRedisplay,
  radar_options: p.any(),
});

export type PaymentMethodData = Infer<typeof paymentMethodDataParams>;

function cardError(code: string, message: string, param: string): StripeApiError {
  return new StripeApiError({ status: 402, type: 'card_error', code, message, param });
}

export function toBillingDetails(
  params: Infer<typeof billingDetailsParams> | undefined,
): Partial<Stripe.PaymentMethod.BillingDetails> | undefined {
  if (!params) return undefined;
  return {
    address: params.address ? toAddress(params.address) : undefined,
    email: params.email ?? null,
    name: params.name ?? null,
    phone: params.phone ?? null,
  };
}

function cardFromParams(ctx: Emulator, card: Infer<typeof cardParams>, prefix: string): TestCard {
  if (card.token) {
    const tokenCard = magicCard(card.token);
    if (!tokenCard)
      throw invalidRequest(`No such token: '${card.token}'`, `${prefix}[token]`, 'resource_missing');
    return tokenCard;
  }
  if (card.number === undefined)
    throw invalidRequest('Missing required param: card[number].', `${prefix}[number]`, 'parameter_missing');
  const number = card.number.replace(/[\s-]/g, '');
  if (!luhnValid(number)) throw cardError('incorrect_number', 'Your card number is incorrect.', 'number');
  if (card.exp_month === undefined) {
    throw invalidRequest(
      'Missing required param: card[exp_month].',
      `${prefix}[exp_month]`,
      'parameter_missing',
    );
  }
  if (card.exp_year === undefined) {
    throw invalidRequest(
      'Missing required param: card[exp_year].',
      `${prefix}[exp_year]`,
      'parameter_missing',
    );
  }
  if (card.exp_month < 1 || card.exp_month > 12) {
    throw cardError('invalid_expiry_month', "Your card's expiration month is invalid.", 'exp_month');
  }
  const now = new Date(ctx.clock.now() * 1000);
  const year = card.exp_year < 100 ? 2000 + card.exp_year : card.exp_year;
  const thisYear = now.getUTCFullYear();
  if (year < thisYear || year > thisYear + 50) {
    throw cardError('invalid_expiry_year', "Your card's expiration year is invalid.", 'exp_year');
  }
  if (year === thisYear && card.exp_month < now.getUTCMonth() + 1) {
    throw cardError('invalid_expiry_month', "Your card's expiration month is invalid.", 'exp_month');
  }
  if (card.cvc !== undefined && !/^\d{3,4}$/.test(card.cvc)) {
    throw cardError('invalid_cvc', "Your card's security code is invalid.", 'cvc');
  }
  return cardFromNumber(number);
}

/** Create a card PaymentMethod from `type=card&card[...]` parameters. */
export function createPaymentMethodFromParams(
  ctx: Emulator,
  params: PaymentMethodData,
  prefix = 'card',
): Stripe.PaymentMethod {
  if (params.type !== 'card') {
    throw invalidRequest(
      `The emulator supports only type=card PaymentMethods (got ${params.type}).`,
      'type',
      'payment_method_invalid_parameter',
    );
  }
  if (!params.card) throw invalidRequest('Missing required param: card.', prefix, 'parameter_missing');
  const card = cardFromParams(ctx, params.card, prefix);
  const year = params.card.exp_year;
  return createCardPaymentMethod(ctx, {
    card,
    exp_month: params.card.exp_month,
    exp_year: year !== undefined && year < 100 ? 2000 + year : year,
    billing_details: toBillingDetails(params.billing_details),
    metadata: mergeMetadata({}, params.metadata),
    allow_redisplay: params.allow_redisplay,
  });
}
