import { asc, eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import {
  invoices,
  organizations,
  paymentMethods,
  payments,
  refunds,
  subscriptions,
} from '../../db/schema/index.ts';

/** A projection row reduced to what Stripe decides, with dates as ISO strings (JSON-safe for audit). */
export type SemanticRow = Record<string, string | number | boolean | null | object>;

/** The org's slice of the Stripe projection, keyed by table then row id. */
export interface ProjectionSnapshot {
  org: SemanticRow | null;
  subscriptions: Map<string, SemanticRow>;
  invoices: Map<string, SemanticRow>;
  payments: Map<string, SemanticRow>;
  refunds: Map<string, SemanticRow>;
  paymentMethods: Map<string, SemanticRow>;
}

/**
 * Columns our own writes stamp (watermarks, updated_at, the moment a card was seen missing) are
 * left out or reduced to what they mean, so two projections built at different times compare equal.
 */
function semantic(row: Record<string, unknown>, drop: string[]): SemanticRow {
  const out: SemanticRow = {};
  for (const [k, v] of Object.entries(row)) {
    if (drop.includes(k)) continue;
    out[k] = v instanceof Date ? v.toISOString() : (v as SemanticRow[string]);
  }
  return out;
}

const byId = (rows: Record<string, unknown>[], drop: string[]) =>
  new Map(rows.map((r) => [r.id as string, semantic(r, drop)]));

/** Reads the org's projection in the caller's (org) transaction. */
export async function readProjection(tx: Tx, orgId: string): Promise<ProjectionSnapshot> {
  const [org] = await tx
    .select({
      stripeCustomerId: organizations.stripeCustomerId,
      subscriptionId: organizations.subscriptionId,
      subscriptionStatus: organizations.subscriptionStatus,
      currentPeriodEnd: organizations.currentPeriodEnd,
      trialEndsAt: organizations.trialEndsAt,
      planKey: organizations.planKey,
      trialUsedAt: organizations.trialUsedAt,
      billingState: organizations.billingState,
      paymentFailureReason: organizations.paymentFailureReason,
    })
    .from(organizations)
    .where(eq(organizations.id, orgId));
  const subs = await tx.select().from(subscriptions).where(eq(subscriptions.orgId, orgId));
  const invs = await tx.select().from(invoices).where(eq(invoices.orgId, orgId));
  const pays = await tx.select().from(payments).where(eq(payments.orgId, orgId));
  const refs = await tx.select().from(refunds).where(eq(refunds.orgId, orgId));
  const cards = await tx
    .select()
    .from(paymentMethods)
    .where(eq(paymentMethods.orgId, orgId))
    .orderBy(asc(paymentMethods.id));
  return {
    org: org
      ? semantic(
          { ...org, trialUsed: org.trialUsedAt !== null },
          // When the trial was used is our clock's reading; that it was used is Stripe's fact.
          ['trialUsedAt'],
        )
      : null,
    subscriptions: byId(subs, ['stripeUpdatedAt', 'updatedAt']),
    invoices: byId(invs, ['stripeUpdatedAt']),
    payments: byId(pays, ['stripeUpdatedAt']),
    refunds: byId(refs, ['createdBy']),
    paymentMethods: byId(
      cards.map((c) => ({ ...c, detached: c.detachedAt !== null })),
      ['createdAt', 'detachedAt'],
    ),
  };
}

/** Orgs that have a Stripe customer: what the drift check walks. */
export const listLinkedOrgs = (tx: Tx) =>
  tx
    .select({ id: organizations.id, customerId: organizations.stripeCustomerId })
    .from(organizations)
    .orderBy(asc(organizations.id))
    .then((rows) => rows.filter((r): r is { id: string; customerId: string } => r.customerId !== null));

export const findOrgLink = (tx: Tx, orgId: string) =>
  tx
    .select({
      id: organizations.id,
      customerId: organizations.stripeCustomerId,
      trialUsedAt: organizations.trialUsedAt,
    })
    .from(organizations)
    .where(eq(organizations.id, orgId))
    .then((r) => r[0] ?? null);

export const findOrgByCustomer = (tx: Tx, customerId: string) =>
  tx
    .select({ id: organizations.id })
    .from(organizations)
    .where(eq(organizations.stripeCustomerId, customerId))
    .then((r) => r[0] ?? null);
