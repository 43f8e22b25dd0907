import { and, eq, gte, lt, sql } from 'drizzle-orm';
import { meteredUsage } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { getOrg } from '../orgs/getOrg.ts';
import { currentSubscription } from '../subscriptions/currentSubscription.ts';
import { estimateCharge, meteredProducts } from './meteredProducts.ts';

/**
 * Current-period usage per metered price (add-ons and credit overage): what we recorded, what is
 * already reported to Stripe, the estimated charge (quantity × unit price, rounded half up to
 * minor units, as the invoice line is), and Stripe's own meter summary when it answers.
 */
export async function getUsageSummary(deps: Pick<Deps, 'database' | 'stripe' | 'logger'>, orgId: string) {
  const products = [...(await meteredProducts(deps)).values()];
  const sub = await currentSubscription(deps, orgId);
  const start = sub?.currentPeriodStart ?? null;
  const end = sub?.currentPeriodEnd ?? null;
  const totals = new Map<string, { quantity: number; reported: number }>();
  if (start && end) {
    const rows = await withOrgTx(deps.database, orgId, (tx) =>
      tx
        .select({
          addon: meteredUsage.addonKey,
          quantity: sql<string>`coalesce(sum(${meteredUsage.quantity}), 0)`,
          reported: sql<string>`coalesce(sum(${meteredUsage.quantity}) FILTER (WHERE ${meteredUsage.reportedAt} IS NOT NULL), 0)`,
        })
        .from(meteredUsage)
        .where(
          and(
            eq(meteredUsage.orgId, orgId),
            gte(meteredUsage.occurredAt, start),
            lt(meteredUsage.occurredAt, end),
          ),
        )
        .groupBy(meteredUsage.addonKey),
    );
    for (const r of rows) totals.set(r.addon, { quantity: Number(r.quantity), reported: Number(r.reported) });
  }
  const stripeTotals = start && end ? await stripeSummaries(deps, orgId, start, end, products) : new Map();
  const lines = products.map((p) => {
    const t = totals.get(p.key) ?? { quantity: 0, reported: 0 };
    return {
      addon: p.key,
      name: p.name,
      meter_event_name: p.meter_event_name,
      quantity: t.quantity,
      reported_quantity: t.reported,
      unit_amount_decimal: p.unit_amount_decimal,
      currency: p.currency,
      estimated_charge: estimateCharge(t.quantity, p.unit_amount_decimal),
      stripe_quantity: (stripeTotals.get(p.meter_event_name) as number | undefined) ?? null,
    };
  });
  return {
    period_start: start?.toISOString() ?? null,
    period_end: end?.toISOString() ?? null,
    currency: products[0]?.currency ?? null,
    estimated_total: lines.reduce((s, l) => s + l.estimated_charge, 0),
    data: lines,
  };
}

async function stripeSummaries(
  deps: Pick<Deps, 'database' | 'stripe' | 'logger'>,
  orgId: string,
  start: Date,
  end: Date,
  products: { meter_event_name: string }[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    const customer = (await getOrg(deps, orgId)).stripe_customer_id;
    if (!customer || products.length === 0) return out;
    const meters = await deps.stripe.billing.meters.list({ status: 'active', limit: 100 });
    const wanted = new Set(products.map((p) => p.meter_event_name));
    await Promise.all(
      meters.data
        .filter((m) => wanted.has(m.event_name))
        .map(async (m) => {
          const s = await deps.stripe.billing.meters.listEventSummaries(m.id, {
            customer,
            // Stripe wants minute-aligned bounds.
            start_time: Math.floor(start.getTime() / 60_000) * 60,
            end_time: Math.ceil(end.getTime() / 60_000) * 60,
          });
          out.set(
            m.event_name,
            s.data.reduce((sum, x) => sum + x.aggregated_value, 0),
          );
        }),
    );
  } catch (err) {
    // Best effort: our own totals stand without Stripe's view.
    deps.logger.warn({ err, orgId }, 'meter summaries unavailable');
  }
  return out;
}
