import type { Deps } from '../../deps.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { type AuditContext, recordAuditNow } from '../audit/recordAuditNow.ts';
import { getOrg } from '../orgs/getOrg.ts';
import { listPaymentMethods } from './listPaymentMethods.ts';
import { ownedPaymentMethod } from './ownedPaymentMethod.ts';

/** Makes a card the default for invoices (customer) and for the live subscription, if any. */
export async function setDefaultPaymentMethod(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock'>,
  audit: AuditContext,
  orgId: string,
  pmId: string,
) {
  const org = await getOrg(deps, orgId);
  await ownedPaymentMethod(deps, org.stripe_customer_id, pmId);
  try {
    await withStripeRetry(() =>
      deps.stripe.customers.update(
        org.stripe_customer_id!,
        { invoice_settings: { default_payment_method: pmId } },
        { idempotencyKey: idempotencyKey(orgId, 'customer.default_pm', pmId, audit.requestId ?? '') },
      ),
    );
    if (
      org.subscription_id &&
      org.subscription_status !== 'canceled' &&
      org.subscription_status !== 'incomplete_expired'
    ) {
      await withStripeRetry(() =>
        deps.stripe.subscriptions.update(
          org.subscription_id!,
          { default_payment_method: pmId },
          {
            idempotencyKey: idempotencyKey(
              orgId,
              'subscription.default_pm',
              org.subscription_id!,
              pmId,
              audit.requestId ?? '',
            ),
          },
        ),
      );
    }
  } catch (err) {
    throw stripeErrorToDomain(err, 'setting the default card');
  }
  await recordAuditNow(deps, audit, {
    orgId,
    action: 'payment_method.default_set',
    targetType: 'payment_method',
    targetId: pmId,
  });
  return listPaymentMethods(deps, orgId);
}
