import { and, eq, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { featureUsage, plans } from '../../db/schema/index.ts';
import type { OrgSnapshot } from './decideEntitlement.ts';

export const listAllPlans = (tx: Tx) =>
  tx
    .select({
      key: plans.key,
      name: plans.name,
      features: plans.features,
      allowOverage: plans.allowOverage,
      active: plans.active,
    })
    .from(plans);

const toDate = (v: unknown) => (v == null ? null : v instanceof Date ? v : new Date(String(v)));

/**
 * Everything a check needs about one org in one statement (the uncached path, and the raw SQL
 * ceiling the benchmark compares against). A missing credit account is a balance of 0.
 *
 * The balance is the account's, less whatever sits in grants that have expired by `now` but whose
 * expiry entry the ledger has not written yet (the expiry job runs every 15 minutes; consumption
 * writes it first thing): an expired credit must not let anything through meanwhile. The soonest
 * future grant expiry is returned too, so the cached answer ends when those credits do.
 */
export async function readOrgSnapshot(tx: Tx, orgId: string, now: Date): Promise<OrgSnapshot | null> {
  const at = now.toISOString();
  const result = (await tx.execute(sql`
    SELECT o.plan_key, o.subscription_status, o.trial_ends_at, o.billing_state, o.grace_ends_at,
      (SELECT c.balance FROM credit_accounts c WHERE c.org_id = o.id) AS balance,
      g.expired_remaining, g.next_expiry,
      (SELECT json_object_agg(f.feature, f.usage) FROM feature_usage f WHERE f.org_id = o.id) AS usage
    FROM organizations o,
      LATERAL (SELECT coalesce(sum(remaining) FILTER (WHERE expires_at <= ${at}::timestamptz), 0) AS expired_remaining,
          min(expires_at) FILTER (WHERE expires_at > ${at}::timestamptz) AS next_expiry
        FROM credit_grants WHERE org_id = o.id AND remaining > 0 AND expires_at IS NOT NULL) g
    WHERE o.id = ${orgId}`)) as unknown as { rows: Record<string, unknown>[] };
  const row = result.rows[0];
  if (!row) return null;
  const usage = typeof row.usage === 'string' ? JSON.parse(row.usage) : (row.usage ?? {});
  return {
    planKey: String(row.plan_key),
    subscriptionStatus: (row.subscription_status as string | null) ?? null,
    trialEndsAt: toDate(row.trial_ends_at),
    billingState: row.billing_state as OrgSnapshot['billingState'],
    graceEndsAt: toDate(row.grace_ends_at),
    balance: row.balance == null ? 0 : Number(row.balance) - Number(row.expired_remaining ?? 0),
    creditsExpireAt: toDate(row.next_expiry),
    usage: usage as Record<string, number>,
  };
}

export async function upsertFeatureUsage(tx: Tx, orgId: string, feature: string, usage: number, now: Date) {
  await tx
    .insert(featureUsage)
    .values({ orgId, feature, usage, updatedAt: now })
    .onConflictDoUpdate({
      target: [featureUsage.orgId, featureUsage.feature],
      set: { usage, updatedAt: now },
    });
}

export const findFeatureUsage = (tx: Tx, orgId: string, feature: string) =>
  tx
    .select({ usage: featureUsage.usage })
    .from(featureUsage)
    .where(and(eq(featureUsage.orgId, orgId), eq(featureUsage.feature, feature)));
