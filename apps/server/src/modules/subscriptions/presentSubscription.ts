import type { paymentMethods } from '../../db/schema/index.ts';
import type { SubscriptionRow } from './repo.ts';

type CardRow = typeof paymentMethods.$inferSelect;
const iso = (d: Date | null) => d?.toISOString() ?? null;

/** The API's view of an org's subscription (a free org gets `plan: 'free'`, status `none`). */
export interface BillingStateView {
  state: 'ok' | 'past_due' | 'action_required' | 'restricted';
  graceEndsAt: Date | null;
  reason: string | null;
  actionUrl: string | null;
}

export function presentSubscription(
  sub: SubscriptionRow | null,
  card: CardRow | null,
  planKey: string,
  billing: BillingStateView = { state: 'ok', graceEndsAt: null, reason: null, actionUrl: null },
) {
  return {
    /** ok, past_due (access continues until grace_ends_at), action_required (3-D Secure), restricted. */
    billing_state: billing.state,
    grace_ends_at: iso(billing.graceEndsAt),
    payment_failure_reason: billing.reason,
    payment_action_url: billing.actionUrl,
    id: sub?.id ?? null,
    plan: sub?.planKey ?? planKey,
    price_id: sub?.priceId ?? null,
    interval: (sub?.interval as 'month' | 'year' | null) ?? null,
    status: sub?.status ?? 'none',
    seats: sub?.quantity ?? 1,
    current_period_start: iso(sub?.currentPeriodStart ?? null),
    current_period_end: iso(sub?.currentPeriodEnd ?? null),
    trial_end: iso(sub?.trialEnd ?? null),
    cancel_at_period_end: sub?.cancelAtPeriodEnd ?? false,
    cancel_at: iso(sub?.cancelAt ?? null),
    collection_method: (sub?.collectionMethod as 'charge_automatically' | 'send_invoice' | undefined) ?? null,
    pending_change: sub?.pendingPlanKey
      ? { plan: sub.pendingPlanKey, price_id: sub.pendingPriceId, effective_at: iso(sub.pendingChangeAt) }
      : null,
    default_payment_method: card
      ? {
          id: card.id,
          brand: card.brand,
          last4: card.last4,
          exp_month: card.expMonth,
          exp_year: card.expYear,
        }
      : null,
    discount: sub?.discount ?? null,
    latest_invoice_id: sub?.latestInvoiceId ?? null,
  };
}
export type SubscriptionView = ReturnType<typeof presentSubscription>;
