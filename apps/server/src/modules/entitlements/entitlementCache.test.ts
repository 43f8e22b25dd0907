import { describe, expect, it } from 'vitest';
import type { OrgSnapshot } from './decideEntitlement.ts';
import { createEntitlementCache, UNLISTENED_TTL_MS } from './entitlementCache.ts';

const snap = (balance: number): OrgSnapshot => ({
  planKey: 'free',
  subscriptionStatus: null,
  trialEndsAt: null,
  billingState: 'ok',
  graceEndsAt: null,
  balance,
  creditsExpireAt: null,
  usage: {},
});

function clockedCache(listening: boolean, ttlMs = 60_000) {
  let t = 0;
  const cache = createEntitlementCache({ ttlMs, listening: () => listening, monotonicNow: () => t });
  const advance = (ms: number) => {
    t += ms;
  };
  return { cache, advance };
}

describe('entitlement cache', () => {
  it('a read that started before an invalidation does not store what it read', () => {
    const { cache } = clockedCache(true);
    const before = cache.ticket('org_a');
    cache.invalidate('org_a'); // a change committed while the read was in flight
    cache.setOrg('org_a', before, snap(1), null);
    expect(cache.getOrg('org_a', 0)).toBeUndefined();
    const after = cache.ticket('org_a');
    cache.setOrg('org_a', after, snap(2), null);
    expect(cache.getOrg('org_a', 0)?.balance).toBe(2);
  });

  it('clearing everything (catalog push, resync) also voids reads in flight for any org', () => {
    const { cache } = clockedCache(true);
    const t = cache.ticket('org_b');
    cache.clear();
    cache.setOrg('org_b', t, snap(1), null);
    expect(cache.getOrg('org_b', 0)).toBeUndefined();
  });

  it('an entry expires at its next time-based transition (app clock)', () => {
    const { cache } = clockedCache(true);
    cache.setOrg('org_c', cache.ticket('org_c'), snap(1), 5_000);
    expect(cache.getOrg('org_c', 4_999)).toBeDefined();
    expect(cache.getOrg('org_c', 5_000)).toBeUndefined();
  });

  it('lives the full TTL only while notifications are heard; a short one otherwise', () => {
    const heard = clockedCache(true, 60_000);
    heard.cache.setOrg('org_d', heard.cache.ticket('org_d'), snap(1), null);
    heard.advance(30_000);
    expect(heard.cache.getOrg('org_d', 0)).toBeDefined();
    heard.advance(30_001);
    expect(heard.cache.getOrg('org_d', 0)).toBeUndefined();

    const deaf = clockedCache(false, 60_000);
    deaf.cache.setOrg('org_e', deaf.cache.ticket('org_e'), snap(1), null);
    deaf.advance(UNLISTENED_TTL_MS - 1);
    expect(deaf.cache.getOrg('org_e', 0)).toBeDefined();
    deaf.advance(2);
    expect(deaf.cache.getOrg('org_e', 0)).toBeUndefined();
  });
});
