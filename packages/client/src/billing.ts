import { type createTransport, TollgateError } from './http.ts';

type Call = ReturnType<typeof createTransport>;

export interface PlanOptions {
  interval?: 'month' | 'year';
  seats?: number;
  /** Which org; defaults to the client's `org` option. */
  org?: string;
}

/**
 * Subscription and payment-method calls under the names host apps already use
 * (`getSubscription`, `updateSubscription(plan)`, ...). Each takes an optional org; the client's
 * `org` option is the default, so a client made for one org reads naturally.
 */
export function billingCalls(call: Call, defaultOrg: string | undefined) {
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
  const choice = (plan: string, o: PlanOptions) => ({
    plan,
    interval: o.interval ?? 'month',
    seats: o.seats ?? 1,
  });
  return {
    getSubscription: async (org?: string) =>
      call('get', '/v1/orgs/{org}/subscription', { path: { org: orgOf(org) } }),
    subscribe: async (plan: string, o: PlanOptions & { promotionCode?: string } = {}) =>
      call('post', '/v1/orgs/{org}/subscription', {
        path: { org: orgOf(o.org) },
        body: { ...choice(plan, o), ...(o.promotionCode ? { promotion_code: o.promotionCode } : {}) },
      }),
    previewSubscriptionChange: async (plan: string, o: PlanOptions = {}) =>
      call('post', '/v1/orgs/{org}/subscription/preview', {
        path: { org: orgOf(o.org) },
        body: choice(plan, o),
      }),
    /** Upgrades apply now (prorated); downgrades are scheduled for the period end. */
    updateSubscription: async (plan: string, o: PlanOptions & { prorationDate?: number } = {}) =>
      call('patch', '/v1/orgs/{org}/subscription', {
        path: { org: orgOf(o.org) },
        body: { ...choice(plan, o), ...(o.prorationDate ? { proration_date: o.prorationDate } : {}) },
      }),
    undoScheduledChange: async (org?: string) =>
      call('delete', '/v1/orgs/{org}/subscription/pending-change', { path: { org: orgOf(org) } }),
    /** Cancels at the end of the paid period. */
    cancelSubscription: async (org?: string) =>
      call('post', '/v1/orgs/{org}/subscription/cancel', { path: { org: orgOf(org) }, body: {} }),
    resumeSubscription: async (org?: string) =>
      call('post', '/v1/orgs/{org}/subscription/resume', { path: { org: orgOf(org) }, body: {} }),
    getPaymentMethods: async (org?: string) =>
      call('get', '/v1/orgs/{org}/payment-methods', { path: { org: orgOf(org) } }),
    createSetupIntent: async (org?: string) =>
      call('post', '/v1/orgs/{org}/payment-methods/setup-intents', { path: { org: orgOf(org) }, body: {} }),
    addPaymentMethod: async (paymentMethodId: string, o: { setDefault?: boolean; org?: string } = {}) =>
      call('post', '/v1/orgs/{org}/payment-methods', {
        path: { org: orgOf(o.org) },
        body: { payment_method_id: paymentMethodId, set_default: o.setDefault ?? false },
      }),
    setDefaultPaymentMethod: async (paymentMethodId: string, org?: string) =>
      call('post', '/v1/orgs/{org}/payment-methods/{pm}/default', {
        path: { org: orgOf(org), pm: paymentMethodId },
        body: {},
      }),
    removePaymentMethod: async (paymentMethodId: string, org?: string) =>
      call('delete', '/v1/orgs/{org}/payment-methods/{pm}', {
        path: { org: orgOf(org), pm: paymentMethodId },
      }),
  };
}
