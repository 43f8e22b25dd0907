import { describe, expect, it } from 'vitest';
import {
  type CatalogView,
  decideEntitlement,
  nextTransition,
  type OrgSnapshot,
} from './decideEntitlement.ts';

const catalog: CatalogView = {
  features: new Map([
    ['sso', { kind: 'boolean', name: 'SSO' }],
    ['projects', { kind: 'limit', name: 'Projects' }],
  ]),
  usageEvents: new Map([['ai_inference', 25]]),
  plans: new Map([
    ['free', { name: 'Free', features: { sso: false, projects: 0 }, allowOverage: false }],
    ['pro', { name: 'Pro', features: { sso: true, projects: 3 }, allowOverage: true }],
  ]),
};
const now = new Date('2026-11-24T12:00:00Z');
const org = (o: Partial<OrgSnapshot> = {}): OrgSnapshot => ({
  planKey: 'pro',
  subscriptionStatus: 'active',
  trialEndsAt: null,
  billingState: 'ok',
  graceEndsAt: null,
  balance: 0,
  creditsExpireAt: null,
  usage: {},
  ...o,
});
const decide = (s: OrgSnapshot, f: string, q = 1) => decideEntitlement(catalog, s, f, now, q);

describe('decideEntitlement', () => {
  it('a payment waiting for authentication keeps access and says so', () => {
    expect(decide(org({ billingState: 'action_required' }), 'sso')).toMatchObject({
      allowed: true,
      reason: 'payment_action_required',
    });
  });

  it('an incomplete subscription (first payment not made) gives the free plan', () => {
    expect(decide(org({ subscriptionStatus: 'incomplete' }), 'sso')).toMatchObject({
      allowed: false,
      reason: 'not_in_plan',
      plan: 'free',
    });
  });

  it('unpaid is restricted whatever the stored state; a limit of 0 is not in the plan', () => {
    expect(decide(org({ subscriptionStatus: 'unpaid' }), 'ai_inference')).toMatchObject({
      allowed: false,
      reason: 'restricted',
    });
    expect(decide(org({ planKey: 'free', subscriptionStatus: null }), 'projects')).toMatchObject({
      allowed: false,
      reason: 'not_in_plan',
      limit: 0,
    });
  });

  it('limits count the quantity asked for', () => {
    const s = org({ usage: { projects: 2 } });
    expect(decide(s, 'projects')).toMatchObject({ allowed: true, remaining: 1 });
    expect(decide(s, 'projects', 2)).toMatchObject({ allowed: false, reason: 'limit_reached' });
  });

  it('the soonest of grace end, trial end and credit expiry is the next transition', () => {
    const h = (n: number) => new Date(now.getTime() + n * 3_600_000);
    expect(nextTransition(org({ creditsExpireAt: h(2) }), now)).toEqual(h(2));
    expect(
      nextTransition(org({ billingState: 'past_due', graceEndsAt: h(3), creditsExpireAt: h(2) }), now),
    ).toEqual(h(2));
    expect(
      nextTransition(org({ subscriptionStatus: 'trialing', trialEndsAt: h(1), creditsExpireAt: h(2) }), now),
    ).toEqual(h(1));
    expect(nextTransition(org({ creditsExpireAt: h(-1) }), now)).toBeNull();
  });

  it('the grace period end is the next transition; past it the org is restricted', () => {
    const grace = new Date(now.getTime() + 3_600_000);
    const s = org({ billingState: 'past_due', graceEndsAt: grace });
    expect(nextTransition(s, now)).toEqual(grace);
    expect(decide(s, 'sso')).toMatchObject({ allowed: true, reason: 'past_due_grace' });
    expect(decideEntitlement(catalog, s, 'sso', grace)).toMatchObject({
      allowed: false,
      reason: 'restricted',
    });
  });
});
