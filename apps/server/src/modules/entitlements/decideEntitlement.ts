import { type BillingState, effectiveBillingState } from '../webhooks/paymentState.ts';

/** What a check can answer. Allowed: plan, trial, past_due_grace, payment_action_required, overage. */
export const ENTITLEMENT_REASONS = [
  'plan',
  'trial',
  'past_due_grace',
  'payment_action_required',
  'overage',
  'restricted',
  'not_in_plan',
  'limit_reached',
  'no_credits',
] as const;
export type EntitlementReason = (typeof ENTITLEMENT_REASONS)[number];

export type FeatureKind = 'boolean' | 'limit' | 'usage_event';

/** The catalog as entitlements need it: feature kinds, usage-event costs, each plan's grants. */
export interface CatalogView {
  features: Map<string, { kind: 'boolean' | 'limit'; name: string }>;
  /** Usage event → credits per unit. */
  usageEvents: Map<string, number>;
  plans: Map<
    string,
    { name: string; features: Record<string, boolean | number | null>; allowOverage: boolean }
  >;
}

/** Everything about one org that a check reads; cached per org. */
export interface OrgSnapshot {
  planKey: string;
  subscriptionStatus: string | null;
  trialEndsAt: Date | null;
  billingState: 'ok' | 'past_due' | 'action_required' | 'restricted';
  graceEndsAt: Date | null;
  /** Credit balance (0 when the org never had credits), expired grants not counted. */
  balance: number;
  /** When the soonest of its expiring grants with credits left expires (the balance drops then). */
  creditsExpireAt: Date | null;
  /** Host-reported usage of limit features. */
  usage: Record<string, number>;
}

export interface Entitlement {
  feature: string;
  kind: FeatureKind;
  allowed: boolean;
  reason: EntitlementReason;
  /** Limit features: the plan's limit (null = unlimited). Otherwise null. */
  limit: number | null;
  /** Limit features: the reported usage. Otherwise null. */
  usage: number | null;
  /** Limit features: limit - usage (never below 0; null = unlimited). Otherwise null. */
  remaining: number | null;
  /** Usage events: credits per unit. Otherwise null. */
  cost: number | null;
  /** The org's credit balance. */
  balance: number;
  /** The plan whose features apply (the free plan without a paying subscription). */
  plan: string;
  subscription_status: string | null;
  billing_state: BillingState;
  trial_ends_at: string | null;
  grace_ends_at: string | null;
}

/**
 * Subscription statuses under which the org has its plan. `incomplete` (first payment not made)
 * and `paused` get the free plan; `unpaid` is restricted by effectiveBillingState;
 * `canceled`/`incomplete_expired` already moved the org to the free plan.
 */
const PLAN_STATUSES = new Set(['active', 'trialing', 'past_due', 'unpaid']);

export const FREE_PLAN = 'free';

export function effectivePlanKey(s: Pick<OrgSnapshot, 'planKey' | 'subscriptionStatus'>): string {
  if (s.subscriptionStatus === null || PLAN_STATUSES.has(s.subscriptionStatus)) return s.planKey;
  return FREE_PLAN;
}

/**
 * The next instant at which this snapshot's answers change by time alone (the grace period
 * ending, the trial ending), or null. Cache entries must not outlive it.
 */
export function nextTransition(s: OrgSnapshot, now: Date): Date | null {
  const candidates = [
    s.billingState === 'past_due' ? s.graceEndsAt : null,
    s.subscriptionStatus === 'trialing' ? s.trialEndsAt : null,
    s.creditsExpireAt,
  ].filter((d): d is Date => d !== null && d.getTime() > now.getTime());
  if (!candidates.length) return null;
  return new Date(Math.min(...candidates.map((d) => d.getTime())));
}

export function kindOf(catalog: CatalogView, feature: string): FeatureKind | null {
  const f = catalog.features.get(feature);
  if (f) return f.kind;
  return catalog.usageEvents.has(feature) ? 'usage_event' : null;
}

/**
 * May the org use `feature` (`quantity` more units of a limit feature or usage event) now?
 * Order: a restricted org is refused everything; then the plan decides booleans and limits,
 * the balance (or the plan's overage) usage events; an allowed answer names the billing context
 * the host should know about (grace, pending authentication, trial) before plain `plan`.
 * `feature` must be a catalog feature or usage event (see kindOf).
 */
export function decideEntitlement(
  catalog: CatalogView,
  s: OrgSnapshot,
  feature: string,
  now: Date,
  quantity = 1,
): Entitlement {
  const kind = kindOf(catalog, feature) ?? 'boolean';
  const billingState = effectiveBillingState(s, now);
  const planKey = effectivePlanKey(s);
  const plan = catalog.plans.get(planKey);
  const base = {
    feature,
    kind,
    limit: null,
    usage: null,
    remaining: null,
    cost: null,
    balance: s.balance,
    plan: planKey,
    subscription_status: s.subscriptionStatus,
    billing_state: billingState,
    trial_ends_at: s.trialEndsAt?.toISOString() ?? null,
    grace_ends_at: s.graceEndsAt?.toISOString() ?? null,
  } satisfies Omit<Entitlement, 'allowed' | 'reason'>;

  const allowedReason: EntitlementReason =
    billingState === 'past_due'
      ? 'past_due_grace'
      : billingState === 'action_required'
        ? 'payment_action_required'
        : s.subscriptionStatus === 'trialing' && planKey !== FREE_PLAN
          ? 'trial'
          : 'plan';
  const answer = (allowed: boolean, reason: EntitlementReason, extra: Partial<Entitlement> = {}) => ({
    ...base,
    ...extra,
    allowed,
    reason,
  });

  if (kind === 'usage_event') {
    const cost = catalog.usageEvents.get(feature) ?? 0;
    const extra = { cost };
    if (billingState === 'restricted') return answer(false, 'restricted', extra);
    if (s.balance >= cost * quantity) return answer(true, allowedReason, extra);
    if (plan?.allowOverage) return answer(true, 'overage', extra);
    return answer(false, 'no_credits', extra);
  }

  const value = plan?.features[feature];
  if (kind === 'limit') {
    const limit = typeof value === 'number' ? value : null;
    const usage = s.usage[feature] ?? 0;
    const unlimited = value === null;
    const extra = {
      limit,
      usage,
      remaining: unlimited ? null : Math.max(0, (limit ?? 0) - usage),
    };
    if (billingState === 'restricted') return answer(false, 'restricted', extra);
    // A missing entry, `false` or a limit of 0: the plan does not include it at all.
    if (!unlimited && (limit === null || limit === 0))
      return answer(false, 'not_in_plan', { ...extra, limit: 0 });
    if (!unlimited && usage + quantity > (limit ?? 0)) return answer(false, 'limit_reached', extra);
    return answer(true, allowedReason, extra);
  }

  if (billingState === 'restricted') return answer(false, 'restricted');
  if (value !== true) return answer(false, 'not_in_plan');
  return answer(true, allowedReason);
}
