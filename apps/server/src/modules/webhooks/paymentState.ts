import { eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { organizations } from '../../db/schema/index.ts';

export type BillingState = 'ok' | 'past_due' | 'action_required' | 'restricted';
type OrgRow = typeof organizations.$inferSelect;

/**
 * What the org's access looks like right now. A past-due org keeps access until its grace
 * period ends; then — or when Stripe gave up (`unpaid`) — it is restricted. Computed on read,
 * so no timer has to fire for the grace period to end.
 */
export function effectiveBillingState(
  org: Pick<OrgRow, 'billingState' | 'graceEndsAt' | 'subscriptionStatus'>,
  now: Date,
): BillingState {
  if (org.subscriptionStatus === 'unpaid') return 'restricted';
  if (org.billingState === 'past_due' && org.graceEndsAt && org.graceEndsAt.getTime() <= now.getTime())
    return 'restricted';
  return org.billingState;
}

/**
 * invoice.payment_failed: past due with the reason. The grace period runs from the earliest
 * failure still in force (`failedAt` is when that invoice failed, not when the event was
 * processed), so events applied in any order end in the same state.
 */
export async function markPastDue(tx: Tx, orgId: string, reason: string, failedAt: Date, graceDays: number) {
  const [org] = await tx.select().from(organizations).where(eq(organizations.id, orgId));
  if (!org) return null;
  const inDunning = org.billingState === 'past_due' || org.billingState === 'restricted';
  const since =
    inDunning && org.pastDueSince && org.pastDueSince.getTime() < failedAt.getTime()
      ? org.pastDueSince
      : failedAt;
  const graceEndsAt = new Date(since.getTime() + graceDays * 86_400_000);
  await tx
    .update(organizations)
    .set({
      billingState: 'past_due',
      pastDueSince: since,
      graceEndsAt,
      paymentFailureReason: reason,
      paymentActionUrl: null,
    })
    .where(eq(organizations.id, orgId));
  return { before: org.billingState, graceEndsAt };
}

/** invoice.payment_action_required: the customer must authenticate on the hosted invoice page. */
export async function markActionRequired(tx: Tx, orgId: string, url: string | null) {
  const [org] = await tx.select().from(organizations).where(eq(organizations.id, orgId));
  if (!org) return null;
  await tx
    .update(organizations)
    .set({ billingState: 'action_required', paymentActionUrl: url })
    .where(eq(organizations.id, orgId));
  return { before: org.billingState };
}

/** invoice.paid: recovered. Returns the state before, so the caller can announce a recovery. */
export async function markRecovered(tx: Tx, orgId: string) {
  const [org] = await tx.select().from(organizations).where(eq(organizations.id, orgId));
  if (!org || org.billingState === 'ok') return { before: org?.billingState ?? 'ok' };
  await tx
    .update(organizations)
    .set({
      billingState: 'ok',
      pastDueSince: null,
      graceEndsAt: null,
      paymentFailureReason: null,
      paymentActionUrl: null,
    })
    .where(eq(organizations.id, orgId));
  return { before: org.billingState };
}
