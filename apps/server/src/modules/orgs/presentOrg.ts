import type { OrgRow } from './repo.ts';

/** The API's view of an org (snake_case, ISO dates). */
export function presentOrg(o: OrgRow) {
  return {
    id: o.id,
    external_id: o.externalId,
    name: o.name,
    billing_email: o.billingEmail,
    stripe_customer_id: o.stripeCustomerId,
    subscription_id: o.subscriptionId,
    subscription_status: o.subscriptionStatus,
    current_period_end: o.currentPeriodEnd?.toISOString() ?? null,
    trial_ends_at: o.trialEndsAt?.toISOString() ?? null,
    plan_key: o.planKey,
    address: o.address ?? null,
    tax_id: o.taxIdValue ? { type: o.taxIdType ?? '', value: o.taxIdValue } : null,
    collection_method: o.collectionMethod,
    days_until_due: o.daysUntilDue,
    po_number: o.poNumber,
    created_at: o.createdAt.toISOString(),
    updated_at: o.updatedAt.toISOString(),
  };
}
