/**
 * Pieces shared by PaymentIntents and SetupIntents: client secrets, the 3-D Secure
 * next_action, whether a card needs authentication, and the publishable-key check.
 */
import type { Emulator } from '../../core/context.ts';
import { randomAlphanumeric } from '../../core/ids.ts';
import { invalidRequest } from '../../http/errors.ts';
import type { CardBehaviour } from './cards.ts';

export function newClientSecret(id: string): string {
  return `${id}_secret_${randomAlphanumeric(25)}`;
}

/**
 * Where the customer completes 3-D Secure. With a return_url Stripe answers
 * `redirect_to_url`; otherwise `use_stripe_sdk` (Stripe.js handles it). Both point at the
 * emulator's page /_emulator/3ds/:id, which has "Complete" and "Fail" buttons.
 */
export function threeDSecureAction(ctx: Emulator, intentId: string, returnUrl: string | null | undefined) {
  const url = `${ctx.baseUrl}/_emulator/3ds/${intentId}`;
  if (returnUrl) {
    return {
      type: 'redirect_to_url',
      redirect_to_url: { return_url: returnUrl, url: `${url}?return_url=${encodeURIComponent(returnUrl)}` },
    };
  }
  return {
    type: 'use_stripe_sdk',
    use_stripe_sdk: {
      type: 'three_d_secure_redirect',
      stripe_js: url,
      source: `src_${randomAlphanumeric(24)}`,
    },
  };
}

/** Does confirming a payment with this card need 3-D Secure right now? */
export function paymentNeedsAuthentication(
  behaviour: CardBehaviour,
  opts: { offSession: boolean; setUpForOffSession: boolean },
): boolean {
  switch (behaviour.kind) {
    case 'auth_required':
    case 'auth_then_decline':
      return true;
    case 'auth_on_setup':
      // 4000002500003155: once set up for off-session use, off-session payments go through.
      return !(opts.offSession && opts.setUpForOffSession);
    default:
      return false;
  }
}

/** Does setting up this card for future use need 3-D Secure? */
export function setupNeedsAuthentication(behaviour: CardBehaviour): boolean {
  return (
    behaviour.kind === 'auth_required' ||
    behaviour.kind === 'auth_on_setup' ||
    behaviour.kind === 'auth_then_decline'
  );
}

/** With a publishable key, the intent's client_secret must accompany the call. */
export function checkClientSecret(
  keyKind: 'secret' | 'publishable',
  given: string | undefined,
  expected: string | null,
): void {
  if (keyKind === 'secret') return;
  if (!given)
    throw invalidRequest('Missing required param: client_secret.', 'client_secret', 'parameter_missing');
  if (given !== expected) {
    throw invalidRequest(
      'The client_secret provided does not match the client_secret associated with this intent.',
      'client_secret',
      'resource_missing',
    );
  }
}
