import { type createTransport, type RequestOf, TollgateError } from './http.ts';

type Call = ReturnType<typeof createTransport>;
type Body<P extends Parameters<Call>[1]> = NonNullable<RequestOf<P, 'post'>['body']>;

export type CheckoutSessionInput = Body<'/v1/orgs/{org}/checkout-sessions'>;
export type PaymentIntentInput = Body<'/v1/orgs/{org}/payment-intents'>;
export type PortalSessionInput = Body<'/v1/orgs/{org}/portal-sessions'>;

export interface CallOptions {
  /** Which org; defaults to the client's `org` option. */
  org?: string;
  /** Sent as `Idempotency-Key`: the same key (a double click, a retry) returns the same result. */
  idempotencyKey?: string;
}

/**
 * Checkout, one-off payments and the Customer Portal. Like the other billing calls, each takes an
 * optional org and falls back to the client's `org` option.
 */
export function checkoutCalls(call: Call, defaultOrg: string | undefined) {
  const orgOf = (org?: string) => {
    const id = org ?? defaultOrg;
    if (!id)
      throw new TollgateError(
        400,
        'validation_failed',
        'org: pass an org id or create the client with { org }',
        null,
      );
    return id;
  };
  const headers = (o: CallOptions) =>
    o.idempotencyKey ? { 'idempotency-key': o.idempotencyKey } : undefined;
  return {
    /** Public: the publishable key and mode for Stripe.js (and, in demo mode, where the emulator is). */
    getBillingConfig: () => call('get', '/v1/billing/config', {}),
    /**
     * Starts Stripe Checkout for a plan (`mode: 'subscription'`) or credit packs (`mode: 'payment'`);
     * send the browser to the returned `url`.
     */
    createCheckoutSession: (body: CheckoutSessionInput, o: CallOptions = {}) =>
      call('post', '/v1/orgs/{org}/checkout-sessions', {
        path: { org: orgOf(o.org) },
        body,
        headers: headers(o),
      }),
    /** Where a checkout stands; call it on the success page — a paid subscription shows at once. */
    getCheckoutSession: (sessionId: string, org?: string) =>
      call('get', '/v1/orgs/{org}/checkout-sessions/{id}', { path: { org: orgOf(org), id: sessionId } }),
    /** A one-off payment; confirm the returned `client_secret` with Stripe Elements. */
    createPaymentIntent: (body: PaymentIntentInput, org?: string) =>
      call('post', '/v1/orgs/{org}/payment-intents', { path: { org: orgOf(org) }, body }),
    /** Opens Stripe's Customer Portal; send the browser to the returned `url`. */
    createPortalSession: (body: PortalSessionInput, o: CallOptions = {}) =>
      call('post', '/v1/orgs/{org}/portal-sessions', {
        path: { org: orgOf(o.org) },
        body,
        headers: headers(o),
      }),
  };
}
