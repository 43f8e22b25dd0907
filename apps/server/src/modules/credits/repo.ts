import { and, asc, desc, eq, gt, inArray, lt, or, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import {
  creditAccounts,
  creditGrants,
  creditLedger,
  plans,
  prices,
  subscriptions,
} from '../../db/schema/index.ts';

export type GrantRow = typeof creditGrants.$inferSelect;
export type LedgerRow = typeof creditLedger.$inferSelect;

/** Statuses in which the org is on its subscription's plan (not the free plan). */
const LIVE = ['trialing', 'active', 'past_due', 'unpaid', 'paused', 'incomplete'];

export const hasLiveSubscription = (tx: Tx, orgId: string) =>
  tx
    .select({ id: subscriptions.id })
    .from(subscriptions)
    .where(and(eq(subscriptions.orgId, orgId), inArray(subscriptions.status, LIVE)))
    .limit(1)
    .then((r) => r.length > 0);

export const findAccount = (tx: Tx, orgId: string) =>
  tx
    .select()
    .from(creditAccounts)
    .where(eq(creditAccounts.orgId, orgId))
    .then((r) => r[0] ?? null);

/** Grants with credits left and not expired at `now`, plus the latest others for context. */
export const listGrants = (tx: Tx, orgId: string, limit: number) =>
  tx
    .select()
    .from(creditGrants)
    .where(eq(creditGrants.orgId, orgId))
    .orderBy(desc(creditGrants.createdAt), desc(creditGrants.id))
    .limit(limit);

export const listLiveGrants = (tx: Tx, orgId: string, now: Date) =>
  tx
    .select()
    .from(creditGrants)
    .where(
      and(
        eq(creditGrants.orgId, orgId),
        gt(creditGrants.remaining, 0),
        or(sql`${creditGrants.expiresAt} IS NULL`, gt(creditGrants.expiresAt, now)),
      ),
    )
    .orderBy(asc(creditGrants.expiresAt), asc(creditGrants.createdAt));

/** The ledger newest first, after a cursor id (keyset on the identity column). */
export const listLedger = (tx: Tx, orgId: string, limit: number, before: number | null) =>
  tx
    .select()
    .from(creditLedger)
    .where(and(eq(creditLedger.orgId, orgId), before === null ? undefined : lt(creditLedger.id, before)))
    .orderBy(desc(creditLedger.id))
    .limit(limit + 1);

export const ledgerEntryExists = (tx: Tx, orgId: string, id: number) =>
  tx
    .select({ id: creditLedger.id })
    .from(creditLedger)
    .where(and(eq(creditLedger.orgId, orgId), eq(creditLedger.id, id)))
    .then((r) => r.length > 0);

/** Plan credit terms by Stripe price id (the catalog as pushed). */
export const planCreditsByPrice = (tx: Tx, priceIds: string[]) =>
  priceIds.length
    ? tx
        .select({
          priceId: prices.id,
          planKey: plans.key,
          perPeriod: plans.creditsPerPeriod,
        })
        .from(prices)
        .innerJoin(plans, eq(plans.key, prices.refKey))
        .where(and(eq(prices.kind, 'plan'), inArray(prices.id, priceIds)))
    : Promise.resolve([]);

/** Credits already granted for one subscription period (allocation + upgrade top-ups). */
export const grantedForPeriod = (tx: Tx, orgId: string, subscriptionId: string, periodEnd: Date) =>
  tx
    .select({ total: sql<number>`coalesce(sum(${creditGrants.amount}), 0)::int` })
    .from(creditGrants)
    .where(
      and(
        eq(creditGrants.orgId, orgId),
        eq(creditGrants.source, 'subscription'),
        eq(creditGrants.sourceRef, subscriptionId),
        eq(creditGrants.expiresAt, periodEnd),
      ),
    )
    .then((r) => Number(r[0]?.total ?? 0));

/** Pack grants bought with one payment intent (to revoke on refund). */
export const packGrantsOf = (tx: Tx, orgId: string, paymentIntentId: string) =>
  tx
    .select()
    .from(creditGrants)
    .where(
      and(
        eq(creditGrants.orgId, orgId),
        eq(creditGrants.source, 'pack'),
        eq(creditGrants.sourceRef, paymentIntentId),
      ),
    );

/** Orgs with credits whose expiry has passed (the expiry job's work list). */
export const orgsWithExpiredCredits = (tx: Tx, now: Date, limit: number) =>
  tx
    .selectDistinct({ orgId: creditGrants.orgId })
    .from(creditGrants)
    .where(
      and(
        gt(creditGrants.remaining, 0),
        lt(creditGrants.expiresAt, sql`${now.toISOString()}::timestamptz + interval '1 microsecond'`),
      ),
    )
    .limit(limit)
    .then((r) => r.map((x) => x.orgId));
