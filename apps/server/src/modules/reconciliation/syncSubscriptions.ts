import { and, eq, isNull } from 'drizzle-orm';
import type Stripe from 'stripe';
import { organizations } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { applySubscription } from '../subscriptions/applySubscription.ts';
import { planItem } from '../subscriptions/planItem.ts';

const ENDED = ['canceled', 'incomplete_expired'];

/**
 * Every subscription of the customer (any status), oldest pages last. `observedAt` is taken
 * before each page is requested, so an event applied while the page was in flight wins.
 */
async function listAll(deps: Pick<Deps, 'stripe' | 'clock'>, customer: string) {
  const out: { sub: Stripe.Subscription; observedAt: number }[] = [];
  let startingAfter: string | undefined;
  for (;;) {
    const observedAt = deps.clock.nowMs();
    const page = await withStripeRetry(() =>
      deps.stripe.subscriptions.list({
        customer,
        status: 'all',
        limit: 100,
        ...(startingAfter ? { starting_after: startingAfter } : {}),
      }),
    );
    for (const sub of page.data) out.push({ sub, observedAt });
    const last = page.data.at(-1);
    if (!page.has_more || !last) return out;
    startingAfter = last.id;
  }
}

/**
 * The application order that leaves the org's columns on the subscription history would have:
 * applySubscription lets a live subscription take the org over, but an ended one only when the
 * org has none. So the newest ended one goes first when nothing is live, and the newest live
 * one goes last otherwise.
 */
export function applicationOrder<T extends { sub: Stripe.Subscription }>(subs: T[]): T[] {
  // A stable sort: subscriptions created in the same second keep Stripe's list order (newest first).
  const newestFirst = [...subs].sort((a, b) => b.sub.created - a.sub.created);
  const live = newestFirst.find((s) => !ENDED.includes(s.sub.status));
  if (live) return [...newestFirst.filter((s) => s !== live).reverse(), live];
  return newestFirst;
}

/** A downgrade waiting in the subscription's schedule (what changeSubscription records). */
async function pendingChange(deps: Pick<Deps, 'stripe'>, sub: Stripe.Subscription) {
  const scheduleId = typeof sub.schedule === 'string' ? sub.schedule : sub.schedule?.id;
  if (!scheduleId || ENDED.includes(sub.status)) return {};
  const schedule = await withStripeRetry(() => deps.stripe.subscriptionSchedules.retrieve(scheduleId));
  const current = planItem(sub)?.price.id;
  const now = planItem(sub)?.current_period_start ?? 0;
  const next = schedule.phases.find((p) => p.start_date > now);
  const nextItem = next?.items[0];
  const price = nextItem ? (typeof nextItem.price === 'string' ? nextItem.price : nextItem.price.id) : null;
  if (!next || !price || price === current) return {};
  return {
    pendingPlanKey: next.metadata?.tollgate_plan ?? null,
    pendingPriceId: price,
    pendingChangeAt: new Date(next.start_date * 1000),
  };
}

/**
 * Re-reads every subscription of the org's customer and applies it through applySubscription
 * (watermarked: nothing older than the stored state is written). Also records that the org used
 * its one trial when Stripe shows a trial, so a restored org does not get a second one.
 * Returns how many subscriptions Stripe listed.
 */
export async function syncSubscriptions(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock'>,
  orgId: string,
  customer: string,
): Promise<number> {
  const listed = await listAll(deps, customer);
  const ordered = applicationOrder(listed);
  const pending = new Map<string, Awaited<ReturnType<typeof pendingChange>>>();
  for (const { sub } of ordered) pending.set(sub.id, await pendingChange(deps, sub));
  const trialStarts = listed.map((s) => s.sub.trial_start).filter((t): t is number => !!t);
  await withOrgTx(deps.database, orgId, async (tx) => {
    for (const { sub, observedAt } of ordered)
      await applySubscription(tx, orgId, sub, observedAt, pending.get(sub.id) ?? {});
    if (trialStarts.length)
      await tx
        .update(organizations)
        .set({ trialUsedAt: new Date(Math.min(...trialStarts) * 1000) })
        .where(and(eq(organizations.id, orgId), isNull(organizations.trialUsedAt)));
  });
  return listed.length;
}
