import type { Deps } from '../../deps.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { ensureCustomer } from '../customers/ensureCustomer.ts';

/**
 * A SetupIntent for adding a card with Stripe Elements: the browser confirms it with the
 * client secret; the card is then attached to the org's customer for off-session charges.
 * `cause` identifies the request (the caller's Idempotency-Key, else our request id) so a retry
 * of the same request gets the same SetupIntent.
 */
export async function createSetupIntent(
  deps: Pick<Deps, 'database' | 'stripe' | 'env'>,
  orgId: string,
  cause: string,
) {
  const customer = await ensureCustomer(deps, orgId);
  try {
    const si = await withStripeRetry(() =>
      deps.stripe.setupIntents.create(
        {
          customer,
          usage: 'off_session',
          allowed_payment_method_types: ['card'],
          metadata: { tollgate_org_id: orgId },
        },
        { idempotencyKey: idempotencyKey(orgId, 'setup_intent.create', cause) },
      ),
    );
    return {
      setup_intent_id: si.id,
      client_secret: si.client_secret!,
      publishable_key: deps.env.STRIPE_PUBLISHABLE_KEY ?? null,
    };
  } catch (err) {
    throw stripeErrorToDomain(err, 'starting card setup');
  }
}
