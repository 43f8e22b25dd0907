/**
 * Calendar arithmetic for billing periods, proration arithmetic and the human text Stripe puts
 * on invoice lines.
 *
 * Periods are computed from the billing cycle anchor, never from the previous period end, so
 * an anchor on the 31st gives Feb 28 (or 29), Mar 31, Apr 30... like Stripe. All in UTC.
 *
 * Proration: amount = round(full_amount × remaining_seconds / period_seconds), where
 * full_amount is what the price charges for the item's quantity over a whole period (per-unit
 * or tiered total). Rounding is half away from zero on the exact rational value (integer
 * arithmetic, no floating point drift), so a credit is always the exact negative of the debit
 * for the same price, quantity and time.
 */
import type { PriceRow } from '../catalog/tables.ts';

export type Interval = 'day' | 'week' | 'month' | 'year';

export interface Recurrence {
  interval: Interval;
  interval_count: number;
}

const DAY = 86_400;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** `anchor` moved forward by `n` recurrences (n may be 0). */
export function addIntervals(anchor: number, recurrence: Recurrence, n: number): number {
  const count = recurrence.interval_count * n;
  switch (recurrence.interval) {
    case 'day':
      return anchor + count * DAY;
    case 'week':
      return anchor + count * 7 * DAY;
    case 'month':
    case 'year': {
      const months = recurrence.interval === 'year' ? count * 12 : count;
      const d = new Date(anchor * 1000);
      const total = d.getUTCMonth() + months;
      const year = d.getUTCFullYear() + Math.floor(total / 12);
      const month = ((total % 12) + 12) % 12;
      const day = Math.min(d.getUTCDate(), daysInMonth(year, month));
      return Date.UTC(year, month, day, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()) / 1000;
    }
  }
}

/** The first period boundary of the cycle anchored at `anchor` that is strictly after `after`. */
export function nextBoundary(anchor: number, recurrence: Recurrence, after: number): number {
  // A future anchor (billing_cycle_anchor on create) ends the first, shortened period.
  if (anchor > after) return anchor;
  // Estimate the index, then correct (months have different lengths).
  const approx = { day: DAY, week: 7 * DAY, month: 28 * DAY, year: 365 * DAY }[recurrence.interval];
  let n = Math.max(1, Math.floor((after - anchor) / (approx * recurrence.interval_count)) - 1);
  while (addIntervals(anchor, recurrence, n) <= after) n++;
  while (n > 1 && addIntervals(anchor, recurrence, n - 1) > after) n--;
  return addIntervals(anchor, recurrence, n);
}

export function recurrenceOf(price: PriceRow): Recurrence {
  const r = price.recurring!;
  return { interval: r.interval as Interval, interval_count: r.interval_count };
}

/** Seconds in one recurrence, roughly (for comparing intervals). */
export function approxSeconds(recurrence: Recurrence): number {
  const unit = { day: DAY, week: 7 * DAY, month: 30 * DAY, year: 365 * DAY }[recurrence.interval];
  return unit * recurrence.interval_count;
}

export function sameRecurrence(a: Recurrence, b: Recurrence): boolean {
  return a.interval === b.interval && a.interval_count === b.interval_count;
}

/** round(amount × part / whole), half away from zero, exact. */
export function prorate(amount: number, part: number, whole: number): number {
  if (whole <= 0) return 0;
  const sign = amount < 0 ? -1n : 1n;
  const a = BigInt(Math.abs(amount)) * BigInt(part);
  const w = BigInt(whole);
  const rounded = (2n * a + w) / (2n * w);
  return Number(sign * rounded);
}

const ZERO_DECIMAL = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);

const SYMBOLS: Record<string, string> = { usd: '$', eur: '€', gbp: '£', jpy: '¥', inr: '₹' };

/** "$29.00", "€9.50", "¥500", "CHF 12.00". */
export function formatMoney(amount: number, currency: string): string {
  const zero = ZERO_DECIMAL.has(currency);
  const value = zero ? String(Math.abs(amount)) : (Math.abs(amount) / 100).toFixed(2);
  const symbol = SYMBOLS[currency];
  const sign = amount < 0 ? '-' : '';
  return symbol ? `${sign}${symbol}${value}` : `${sign}${currency.toUpperCase()} ${value}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "15 Jan 2027" (UTC), as on Stripe's proration lines. */
export function formatDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/** "month", "3 months". */
export function formatInterval(recurrence: Recurrence): string {
  return recurrence.interval_count === 1
    ? recurrence.interval
    : `${recurrence.interval_count} ${recurrence.interval}s`;
}
