import type { Deps } from '../../deps.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { type AuditContext, recordAuditNow } from '../audit/recordAuditNow.ts';
import { ensureCustomer } from '../customers/ensureCustomer.ts';
import { listPaymentMethods } from './listPaymentMethods.ts';
import { setDefaultPaymentMethod } from './setDefaultPaymentMethod.ts';

/**
 * Attaches a PaymentMethod (created client-side by Stripe.js, or a test `pm_card_*` id) to the
 * org's customer. The first card becomes the default. A card Stripe declines at attach → 402.
 */
export async function attachPaymentMethod(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock'>,
  audit: AuditContext,
  orgId: string,
  pmId: string,
  makeDefault: boolean,
) {
  const customer = await ensureCustomer(deps, orgId);
  let attachedId: string;
  try {
    const pm = await withStripeRetry(() =>
      deps.stripe.paymentMethods.attach(
        pmId,
        { customer },
        { idempotencyKey: idempotencyKey(orgId, 'payment_method.attach', pmId) },
      ),
    );
    attachedId = pm.id;
  } catch (err) {
    throw stripeErrorToDomain(err, 'adding the card');
  }
  await recordAuditNow(deps, audit, {
    orgId,
    action: 'payment_method.attached',
    targetType: 'payment_method',
    targetId: attachedId,
  });
  const cards = await listPaymentMethods(deps, orgId);
  const hasDefault = cards.some((c) => c.is_default);
  const all =
    makeDefault || !hasDefault ? await setDefaultPaymentMethod(deps, audit, orgId, attachedId) : cards;
  return all.find((c) => c.id === attachedId)!;
}
