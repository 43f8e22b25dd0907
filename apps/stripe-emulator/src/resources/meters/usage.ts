/**
 * Aggregating meter events: the numbers behind `/v1/billing/meters/:id/event_summaries` and
 * what the billing engine bills for metered prices (`recurring.usage_type = 'metered'` with
 * `recurring.meter`):
 *
 *   import { meterUsage, meteredQuantity } from '../meters/usage.ts';
 *   const used = meterUsage(ctx, 'mtr_...', 'cus_...', periodStart, periodEnd); // [start, end)
 *   const quantity = meteredQuantity(ctx, price, customerId, periodStart, periodEnd);  // >= 0
 *
 * Only events that an active meter accepted when they arrived count (deactivated meters take
 * none), whose payload named the customer and carried a whole-number value (for `count`, any
 * event), and that no meter event adjustment canceled. `timestamp` decides the period.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { MeterEvents, Meters } from './tables.ts';

interface Point {
  timestamp: number;
  value: number;
  seq: number;
}

/** The counted events of one meter for one customer with start <= timestamp < end. */
export function meterPoints(
  ctx: Emulator,
  meter: Stripe.Billing.Meter,
  customerId: string,
  start: number,
  end: number,
): Point[] {
  const table = ctx.store.of(MeterEvents);
  const counting = meter.default_aggregation.formula === 'count';
  const out: Point[] = [];
  for (const [id, meta] of table.metas) {
    if (meta.meter !== meter.id || meta.customer !== customerId || meta.canceled) continue;
    if (meta.value === null && !counting) continue;
    const row = table.rows.get(id);
    if (!row || row.timestamp < start || row.timestamp >= end) continue;
    out.push({ timestamp: row.timestamp, value: meta.value ?? 0, seq: table.seqs.get(id) ?? 0 });
  }
  return out;
}

/** Apply the meter's formula (sum | count | last) to its events. */
export function aggregate(formula: string, points: Point[]): number {
  if (formula === 'count') return points.length;
  if (formula === 'last') {
    let last: Point | undefined;
    for (const point of points) {
      if (
        !last ||
        point.timestamp > last.timestamp ||
        (point.timestamp === last.timestamp && point.seq > last.seq)
      )
        last = point;
    }
    return last?.value ?? 0;
  }
  let sum = 0;
  for (const point of points) sum += point.value;
  return sum;
}

/** Aggregated usage of `meterId` by `customerId` in [start, end); 0 for an unknown meter. */
export function meterUsage(
  ctx: Emulator,
  meterId: string,
  customerId: string,
  start: number,
  end: number,
): number {
  const meter = ctx.store.of(Meters).get(meterId);
  if (!meter) return 0;
  return aggregate(meter.default_aggregation.formula, meterPoints(ctx, meter, customerId, start, end));
}

/**
 * The invoice quantity of a metered price for a period: its meter's usage, never below 0
 * (Stripe bills negative cycle usage as quantity 0). 0 when the price has no meter.
 */
export function meteredQuantity(
  ctx: Emulator,
  price: { recurring: { meter: string | null } | null },
  customerId: string,
  start: number,
  end: number,
): number {
  const meterId = price.recurring?.meter;
  if (!meterId) return 0;
  return Math.max(0, meterUsage(ctx, meterId, customerId, start, end));
}
