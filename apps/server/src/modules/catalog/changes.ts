import type Stripe from 'stripe';
import type { DesiredPrice } from './desiredState.ts';

/**
 * One step that brings Stripe in line with the catalog. `target` names the object (product id,
 * lookup key, meter event name, coupon id, promotion code); `detail` says what and why.
 * `drift` and `skipped` are reported only: push cannot (or must not) fix them.
 */
export type CatalogChange = { target: string; detail: string } & (
  | { action: 'create_product'; params: Stripe.ProductCreateParams & { id: string } }
  /** `from` is the product's `updated`: part of the idempotency key, so a later drift is fixed again. */
  | { action: 'update_product'; params: Stripe.ProductUpdateParams; from: number }
  | { action: 'archive_product'; from: number }
  | { action: 'create_meter'; params: Stripe.Billing.MeterCreateParams }
  | { action: 'reactivate_meter'; meterId: string }
  /** `from`: the archived price that held the lookup key, if any. */
  | { action: 'create_price'; price: DesiredPrice; from: string | null }
  /** New price with the lookup key, then the old one archived (its subscribers keep it). */
  | { action: 'replace_price'; price: DesiredPrice; replaces: Stripe.Price }
  | { action: 'reactivate_price'; priceId: string }
  | { action: 'update_price'; priceId: string; params: Stripe.PriceUpdateParams; from: string }
  | { action: 'archive_price'; price: Stripe.Price }
  | { action: 'create_coupon'; params: Stripe.CouponCreateParams & { id: string } }
  | { action: 'update_coupon'; params: Stripe.CouponUpdateParams; from: string }
  | { action: 'create_promotion_code'; params: Stripe.PromotionCodeCreateParams }
  | { action: 'reactivate_promotion_code'; promotionCodeId: string }
  | { action: 'drift' }
  | { action: 'skipped' }
);

export type CatalogAction = CatalogChange['action'];

/** Changes push applies (everything but reports). */
export const isApplicable = (c: CatalogChange) => c.action !== 'drift' && c.action !== 'skipped';

/** Drift: Stripe differs from the catalog (skipped items are not drift, just unsupported here). */
export const isDrift = (c: CatalogChange) => c.action !== 'skipped';

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
]);

/** 2900 usd → "29.00 USD"; "0.1" usd → "0.001 USD". For people, never for arithmetic. */
export function formatMoney(minor: number | string, currency: string): string {
  const cur = currency.toUpperCase();
  if (ZERO_DECIMAL.has(currency)) return `${minor} ${cur}`;
  const s = String(minor);
  const [int = '0', frac = ''] = s.split('.');
  const digits = int.padStart(3, '0');
  const major = digits.slice(0, -2).replace(/^0+(?=\d)/, '');
  const cents = digits.slice(-2) + frac;
  return `${major}.${cents.padEnd(2, '0')} ${cur}`;
}

/** A readable table: ACTION  TARGET  DETAIL. */
export function formatChangesTable(changes: CatalogChange[]): string {
  if (!changes.length) return 'No changes: Stripe matches the catalog.';
  const rows = changes.map((c) => [c.action.replace(/_/g, ' '), c.target, c.detail]);
  const head = ['ACTION', 'TARGET', 'DETAIL'];
  const widths = [0, 1].map((i) => Math.max(head[i]!.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`.trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}
