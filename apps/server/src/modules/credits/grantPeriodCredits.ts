import type Stripe from 'stripe';
import type { Tx } from '../../db/client.ts';
import type { BalanceChange } from '../credit-alerts/afterBalanceChange.ts';
import { grantCredits } from './ledger.ts';
import { grantedForPeriod, planCreditsByPrice } from './repo.ts';

const idOf = (v: string | { id: string } | null | undefined) => (typeof v === 'string' ? v : (v?.id ?? null));

/**
 * A paid subscription invoice grants its plan's allocation for the billing period on each of
 * its plan lines (the line's period), expiring at the period end, once per subscription and
 * period (cause `credits.period:<sub>:<period start>`). Renewal is simply the next period's
 * invoice. A mid-period upgrade's paid proration line tops the period up to the NEW plan's full
 * allocation (cause `credits.upgrade:<sub>:<period end>:<plan>`; nothing when the period already
 * had as much); downgrades and credit prorations grant nothing, the next period's invoice
 * grants the new plan's allocation. Runs inside the transaction that applies the invoice, so
 * every path that applies a paid invoice (webhook, sync, reconciliation) grants exactly once.
 */
export async function grantPeriodCredits(
  tx: Tx,
  orgId: string,
  invoice: Stripe.Invoice,
  now: Date,
): Promise<BalanceChange[]> {
  if (invoice.status !== 'paid') return [];
  const subscriptionId = idOf(invoice.parent?.subscription_details?.subscription ?? null);
  if (!subscriptionId) return [];
  const lines = invoice.lines?.data ?? [];
  const priceOf = (l: Stripe.InvoiceLineItem) => idOf(l.pricing?.price_details?.price ?? null);
  const priceIds = [...new Set(lines.map(priceOf).filter((p): p is string => !!p))];
  const plans = new Map((await planCreditsByPrice(tx, priceIds)).map((p) => [p.priceId, p]));
  const changes: BalanceChange[] = [];
  for (const line of lines) {
    const plan = plans.get(priceOf(line) ?? '');
    if (!plan || plan.perPeriod <= 0) continue;
    const start = new Date(line.period.start * 1000);
    const end = new Date(line.period.end * 1000);
    // A period already over (an old invoice synced late) would only expire at once.
    if (end <= now) continue;
    // Prorations arrive as subscription item lines or as pending invoice items (Stripe does both).
    const proration =
      line.parent?.subscription_item_details?.proration ??
      line.parent?.invoice_item_details?.proration ??
      false;
    if (line.amount < 0) continue; // credit for unused time: never a grant
    let amount = plan.perPeriod;
    let causeKey = `credits.period:${subscriptionId}:${line.period.start}`;
    if (proration) {
      if (line.amount === 0) continue;
      amount = plan.perPeriod - (await grantedForPeriod(tx, orgId, subscriptionId, end));
      causeKey = `credits.upgrade:${subscriptionId}:${line.period.end}:${plan.planKey}`;
      if (amount <= 0) continue;
    }
    const r = await grantCredits(
      tx,
      {
        orgId,
        source: 'subscription',
        amount,
        expiresAt: end,
        causeKey,
        sourceRef: subscriptionId,
        reason: `${plan.planKey} plan: ${proration ? 'upgrade top-up' : 'period allocation'} (${start.toISOString().slice(0, 10)} – ${end.toISOString().slice(0, 10)})`,
        metadata: { invoice: invoice.id ?? '', plan: plan.planKey },
      },
      now,
    );
    if (r.change) changes.push(r.change);
  }
  return changes;
}
