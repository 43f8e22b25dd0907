import { and, eq, isNull } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { organizations } from '../../db/schema/index.ts';

/** The org's billing columns checkout decides on: its customer, trial history, current subscription. */
export const findOrgBilling = (tx: Tx, orgId: string) =>
  tx
    .select({
      stripeCustomerId: organizations.stripeCustomerId,
      subscriptionId: organizations.subscriptionId,
      trialUsedAt: organizations.trialUsedAt,
      collectionMethod: organizations.collectionMethod,
    })
    .from(organizations)
    .where(eq(organizations.id, orgId))
    .then((r) => r[0] ?? null);

/** One trial per org, ever: the first trial's start stays recorded. */
export const markTrialUsed = (tx: Tx, orgId: string, at: Date) =>
  tx
    .update(organizations)
    .set({ trialUsedAt: at })
    .where(and(eq(organizations.id, orgId), isNull(organizations.trialUsedAt)));
