import { and, desc, eq, inArray, notInArray } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { prices, subscriptions } from '../../db/schema/index.ts';

export type SubscriptionRow = typeof subscriptions.$inferSelect;
export type PriceRow = typeof prices.$inferSelect;

/** Statuses that count as "the org has a subscription" (at most one such per org). */
export const LIVE_STATUSES = ['trialing', 'active', 'past_due', 'unpaid', 'paused', 'incomplete'] as const;

export const findLiveSubscription = (tx: Tx, orgId: string) =>
  tx
    .select()
    .from(subscriptions)
    .where(and(eq(subscriptions.orgId, orgId), inArray(subscriptions.status, [...LIVE_STATUSES])))
    .orderBy(desc(subscriptions.createdAt))
    .limit(1)
    .then((r) => r[0] ?? null);

export const countEndedSubscriptions = (tx: Tx, orgId: string) =>
  tx
    .select({ id: subscriptions.id })
    .from(subscriptions)
    .where(and(eq(subscriptions.orgId, orgId), notInArray(subscriptions.status, [...LIVE_STATUSES])))
    .then((r) => r.length);

export const findSubscription = (tx: Tx, id: string) =>
  tx
    .select()
    .from(subscriptions)
    .where(eq(subscriptions.id, id))
    .then((r) => r[0] ?? null);

/** The active catalog price for a plan and interval (written by `tollgate catalog push`). */
export const findPlanPrice = (tx: Tx, planKey: string, interval: 'month' | 'year') =>
  tx
    .select()
    .from(prices)
    .where(
      and(
        eq(prices.kind, 'plan'),
        eq(prices.refKey, planKey),
        eq(prices.interval, interval),
        eq(prices.active, true),
      ),
    )
    .limit(1)
    .then((r) => r[0] ?? null);

export const findPrice = (tx: Tx, id: string) =>
  tx
    .select()
    .from(prices)
    .where(eq(prices.id, id))
    .then((r) => r[0] ?? null);
