/**
 * Stripe's test cards: magic PaymentMethod ids, tokens and raw numbers, each mapped to a
 * behaviour tag. Only brand, last4, expiry, funding, country and the tag are kept — never
 * the full number or the CVC.
 */
import { createHash } from 'node:crypto';

export type DeclineCode =
  | 'generic_decline'
  | 'insufficient_funds'
  | 'lost_card'
  | 'stolen_card'
  | 'expired_card'
  | 'incorrect_cvc'
  | 'processing_error';

export type CardBehaviour =
  /** Always succeeds. */
  | { kind: 'ok' }
  /** Declined on attach / setup and on every charge. */
  | { kind: 'decline'; code: DeclineCode }
  /** Attaches and sets up fine; every charge then fails with card_declined. */
  | { kind: 'charge_fails' }
  /** Every payment needs 3-D Secure (off-session ones fail with authentication_required). */
  | { kind: 'auth_required' }
  /** Setup needs 3-D Secure; once set up for off-session use, off-session payments succeed. */
  | { kind: 'auth_on_setup' }
  /** Needs 3-D Secure, and after authentication the charge declines (insufficient_funds). */
  | { kind: 'auth_then_decline' }
  /** Radar blocks every charge. */
  | { kind: 'radar_block' };

export interface TestCard {
  brand: string;
  last4: string;
  funding: 'credit' | 'debit' | 'prepaid';
  country: string;
  behaviour: CardBehaviour;
  /** Stable per card number, like Stripe's fingerprint. */
  fingerprint: string;
}

interface NumberSpec {
  behaviour?: CardBehaviour;
  funding?: TestCard['funding'];
  country?: string;
}

const decline = (code: DeclineCode): CardBehaviour => ({ kind: 'decline', code });

/** Raw test numbers with special behaviour; any other Luhn-valid number just works. */
const NUMBERS: Record<string, NumberSpec> = {
  '4000056655665556': { funding: 'debit' },
  '5200828282828210': { funding: 'debit' },
  '5105105105105100': { funding: 'prepaid' },
  '4000000000000002': { behaviour: decline('generic_decline') },
  '4000000000009995': { behaviour: decline('insufficient_funds') },
  '4000000000009987': { behaviour: decline('lost_card') },
  '4000000000009979': { behaviour: decline('stolen_card') },
  '4000000000000069': { behaviour: decline('expired_card') },
  '4000000000000127': { behaviour: decline('incorrect_cvc') },
  '4000000000000119': { behaviour: decline('processing_error') },
  '4000000000000341': { behaviour: { kind: 'charge_fails' } },
  '4000002760003184': { behaviour: { kind: 'auth_required' } },
  '4000002500003155': { behaviour: { kind: 'auth_on_setup' } },
  '4000000000003220': { behaviour: { kind: 'auth_required' } },
  '4000000000003063': { behaviour: { kind: 'auth_required' } },
  '4000008260003178': { behaviour: { kind: 'auth_then_decline' } },
  '4100000000000019': { behaviour: { kind: 'radar_block' } },
  '4000000760000002': { country: 'BR' },
  '4000001240000000': { country: 'CA' },
  '4000002500000003': { country: 'FR' },
  '4000008260000000': { country: 'GB' },
};

/** Magic PaymentMethod ids (pm_card_*) and tokens (tok_*) -> the test number they stand for. */
const MAGIC: Record<string, string> = {
  visa: '4242424242424242',
  visa_debit: '4000056655665556',
  mastercard: '5555555555554444',
  mastercard_debit: '5200828282828210',
  mastercard_prepaid: '5105105105105100',
  amex: '378282246310005',
  discover: '6011111111111117',
  diners: '3056930009020004',
  jcb: '3566002020360505',
  unionpay: '6200000000000005',
  us: '4242424242424242',
  br: '4000000760000002',
  ca: '4000001240000000',
  fr: '4000002500000003',
  gb: '4000008260000000',
  chargeDeclined: '4000000000000002',
  visa_chargeDeclined: '4000000000000002',
  chargeDeclinedInsufficientFunds: '4000000000009995',
  visa_chargeDeclinedInsufficientFunds: '4000000000009995',
  chargeDeclinedLostCard: '4000000000009987',
  visa_chargeDeclinedLostCard: '4000000000009987',
  chargeDeclinedStolenCard: '4000000000009979',
  visa_chargeDeclinedStolenCard: '4000000000009979',
  chargeDeclinedExpiredCard: '4000000000000069',
  visa_chargeDeclinedExpiredCard: '4000000000000069',
  chargeDeclinedIncorrectCvc: '4000000000000127',
  visa_chargeDeclinedIncorrectCvc: '4000000000000127',
  chargeDeclinedProcessingError: '4000000000000119',
  visa_chargeDeclinedProcessingError: '4000000000000119',
  chargeCustomerFail: '4000000000000341',
  visa_chargeCustomerFail: '4000000000000341',
  authenticationRequired: '4000002760003184',
  authenticationRequiredOnSetup: '4000002500003155',
  threeDSecure2Required: '4000000000003220',
  threeDSecureRequired: '4000000000003063',
  authenticationRequiredChargeDeclinedInsufficientFunds: '4000008260003178',
  authenticationRequiredSetupForOffSession: '4000002500003155',
  radarBlock: '4100000000000019',
  riskLevelHighest: '4100000000000019',
};

export function luhnValid(number: string): boolean {
  if (!/^\d{12,19}$/.test(number)) return false;
  let sum = 0;
  for (let i = 0; i < number.length; i++) {
    let digit = Number(number[number.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

export function brandOf(number: string): string {
  if (/^4/.test(number)) return 'visa';
  if (/^(5[1-5]|2(2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720))/.test(number)) return 'mastercard';
  if (/^3[47]/.test(number)) return 'amex';
  if (/^(6011|65|64[4-9])/.test(number)) return 'discover';
  if (/^(30[0-5]|36|38)/.test(number)) return 'diners';
  if (/^35/.test(number)) return 'jcb';
  if (/^62/.test(number)) return 'unionpay';
  return 'unknown';
}

/** Describe a card number (already Luhn-checked). */
export function cardFromNumber(number: string): TestCard {
  const spec = NUMBERS[number] ?? {};
  return {
    brand: brandOf(number),
    last4: number.slice(-4),
    funding: spec.funding ?? 'credit',
    country: spec.country ?? 'US',
    behaviour: spec.behaviour ?? { kind: 'ok' },
    fingerprint: createHash('sha256').update(`tollgate-emulator:${number}`).digest('base64url').slice(0, 16),
  };
}

/** `pm_card_visa` / `tok_visa` -> the card it stands for, or undefined. */
export function magicCard(id: string): TestCard | undefined {
  const m = /^(?:pm_card_|tok_)(.+)$/.exec(id);
  if (!m) return undefined;
  const number = MAGIC[m[1]!];
  return number ? cardFromNumber(number) : undefined;
}

export function isMagicPaymentMethodId(id: string): boolean {
  return id.startsWith('pm_card_') && magicCard(id) !== undefined;
}

/** Human text + codes for a decline, as Stripe words them. */
export function declineDetails(code: DeclineCode | 'authentication_required' | 'fraudulent'): {
  code: string;
  decline_code: string;
  message: string;
} {
  switch (code) {
    case 'insufficient_funds':
      return { code: 'card_declined', decline_code: code, message: 'Your card has insufficient funds.' };
    case 'lost_card':
    case 'stolen_card':
    case 'generic_decline':
      return { code: 'card_declined', decline_code: code, message: 'Your card was declined.' };
    case 'fraudulent':
      return { code: 'card_declined', decline_code: 'fraudulent', message: 'Your card was declined.' };
    case 'expired_card':
      return { code: 'expired_card', decline_code: code, message: 'Your card has expired.' };
    case 'incorrect_cvc':
      return {
        code: 'incorrect_cvc',
        decline_code: code,
        message: "Your card's security code is incorrect.",
      };
    case 'processing_error':
      return {
        code: 'processing_error',
        decline_code: code,
        message: 'An error occurred while processing your card. Try again in a little bit.',
      };
    case 'authentication_required':
      return {
        code: 'authentication_required',
        decline_code: 'authentication_required',
        message: 'Your card was declined. This transaction requires authentication.',
      };
  }
}
