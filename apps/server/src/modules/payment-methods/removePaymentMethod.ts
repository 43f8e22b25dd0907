import type { Deps } from '../../deps.ts';
import { DomainError } from '../../http/errors.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { type AuditContext, recordAuditNow } from '../audit/recordAuditNow.ts';
import { getOrg } from '../orgs/getOrg.ts';
import { listPaymentMethods } from './listPaymentMethods.ts';
import { ownedPaymentMethod } from './ownedPaymentMethod.ts';
import { setDefaultPaymentMethod } from './setDefaultPaymentMethod.ts';

const PAID_LIVE = new Set(['active', 'trialing', 'past_due', 'unpaid', 'incomplete']);

/**
 * Detaches a card. Refused while it is the only card and a paid subscription charges
 * automatically — the next renewal would fail. When the default goes, the newest other card
 * becomes the default.
 */
export async function removePaymentMethod(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock'>,
  audit: AuditContext,
  orgId: string,
  pmId: string,
) {
  const org = await getOrg(deps, orgId);
  await ownedPaymentMethod(deps, org.stripe_customer_id, pmId);
  const cards = await listPaymentMethods(deps, orgId);
  const others = cards.filter((c) => c.id !== pmId);
  const paidSubscription =
    org.subscription_id &&
    PAID_LIVE.has(org.subscription_status ?? '') &&
    org.collection_method === 'charge_automatically';
  if (others.length === 0 && paidSubscription)
    throw new DomainError(
      'conflict',
      'this is the only card and a paid subscription renews with it: add another card first, or cancel the subscription',
      { field: 'payment_method' },
    );
  try {
    await withStripeRetry(() =>
      deps.stripe.paymentMethods.detach(
        pmId,
        {},
        { idempotencyKey: idempotencyKey(orgId, 'payment_method.detach', pmId) },
      ),
    );
  } catch (err) {
    throw stripeErrorToDomain(err, 'removing the card');
  }
  await recordAuditNow(deps, audit, {
    orgId,
    action: 'payment_method.removed',
    targetType: 'payment_method',
    targetId: pmId,
  });
  const wasDefault = cards.find((c) => c.id === pmId)?.is_default;
  if (wasDefault && others[0]) return setDefaultPaymentMethod(deps, audit, orgId, others[0].id);
  return listPaymentMethods(deps, orgId);
}
