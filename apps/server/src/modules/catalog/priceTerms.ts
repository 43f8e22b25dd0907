import type Stripe from 'stripe';
import { formatMoney } from './changes.ts';
import type { DesiredPrice, DesiredTier } from './desiredState.ts';

/** "0.10" → "0.1", "5.0" → "5", "007" → "7": Stripe may render a decimal differently than we wrote it. */
export function normalizeDecimal(d: string | Stripe.Decimal | null | undefined): string | null {
  if (d == null) return null;
  let [int = '0', frac = ''] = String(d).split('.');
  int = int.replace(/^0+(?=\d)/, '');
  frac = frac.replace(/0+$/, '');
  return frac ? `${int}.${frac}` : int;
}

const per = (interval: string | null) => (interval ? `/${interval}` : ' one-off');

function describeTiers(tiers: DesiredTier[], currency: string): string {
  return tiers
    .map((t) => {
      const parts = [
        t.unitAmount !== null ? `${formatMoney(t.unitAmount, currency)} each` : null,
        t.flatAmount !== null ? `${formatMoney(t.flatAmount, currency)} flat` : null,
      ].filter(Boolean);
      return `${t.upTo === null ? 'rest' : `up to ${t.upTo}`}: ${parts.join(' + ')}`;
    })
    .join('; ');
}

/** "29.00 USD/month", "per seat 10.00 USD/month", "0.001 USD per unit/month (metered)"... */
export function describePrice(p: DesiredPrice): string {
  if (p.tiers) return `tiered (${p.tiersMode}) ${describeTiers(p.tiers, p.currency)}${per(p.interval)}`;
  if (p.model === 'metered')
    return `${formatMoney(p.unitAmountDecimal ?? '0', p.currency)} per unit${per(p.interval)} (metered)`;
  const amount = formatMoney(p.unitAmount ?? 0, p.currency);
  return `${p.model === 'per_seat' ? 'per seat ' : ''}${amount}${per(p.interval)}`;
}

const tiersOf = (a: Stripe.Price): DesiredTier[] =>
  (a.tiers ?? []).map((t) => ({ upTo: t.up_to, unitAmount: t.unit_amount, flatAmount: t.flat_amount }));

/**
 * How an existing Stripe price differs from the catalog in what Stripe never lets us change
 * (amount, model, interval, tiers, meter). Empty: the price can stay. `meterId` null = the
 * meter is still to be created.
 */
export function priceTermsDiff(d: DesiredPrice, a: Stripe.Price, meterId: string | null): string[] {
  const out: string[] = [];
  const productId = typeof a.product === 'string' ? a.product : a.product.id;
  if (productId !== d.productId) out.push(`product ${productId} → ${d.productId}`);
  if (a.currency !== d.currency) out.push(`currency ${a.currency} → ${d.currency}`);
  const interval = a.recurring?.interval ?? null;
  if (interval !== d.interval || (a.recurring && a.recurring.interval_count !== 1))
    out.push(`interval ${interval ?? 'one-off'} → ${d.interval ?? 'one-off'}`);
  const usage = a.recurring?.usage_type ?? null;
  const wantUsage = d.interval ? (d.model === 'metered' ? 'metered' : 'licensed') : null;
  if (usage !== wantUsage) out.push(`usage ${usage ?? 'one-off'} → ${wantUsage ?? 'one-off'}`);
  if (d.model === 'metered' && (a.recurring?.meter ?? null) !== meterId)
    out.push(meterId ? `meter ${a.recurring?.meter ?? 'none'} → ${meterId}` : 'meter → a new meter');
  const scheme = d.tiers ? 'tiered' : 'per_unit';
  if (a.billing_scheme !== scheme) out.push(`model ${a.billing_scheme} → ${scheme}`);
  else if (d.tiers) {
    if (a.tiers_mode !== d.tiersMode) out.push(`tiers mode ${a.tiers_mode} → ${d.tiersMode}`);
    const actual = tiersOf(a);
    if (JSON.stringify(actual) !== JSON.stringify(d.tiers))
      out.push(`tiers ${describeTiers(actual, a.currency)} → ${describeTiers(d.tiers, d.currency)}`);
  } else if (d.unitAmountDecimal !== null) {
    if (normalizeDecimal(a.unit_amount_decimal) !== normalizeDecimal(d.unitAmountDecimal))
      out.push(
        `amount ${formatMoney(normalizeDecimal(a.unit_amount_decimal) ?? '0', a.currency)} → ${formatMoney(d.unitAmountDecimal, d.currency)}`,
      );
  } else if (a.unit_amount !== d.unitAmount) {
    out.push(
      `amount ${formatMoney(a.unit_amount ?? 0, a.currency)} → ${formatMoney(d.unitAmount ?? 0, d.currency)}`,
    );
  }
  if (a.transform_quantity) out.push('transform_quantity → none');
  if (a.custom_unit_amount) out.push('custom amount → fixed');
  return out;
}

/**
 * The metadata update that makes `actual` carry `desired` (our `tollgate*` keys only; keys
 * someone else added are left alone). null when nothing differs.
 */
export function metadataPatch(
  desired: Record<string, string>,
  actual: Record<string, string> | null | undefined,
): Record<string, string> | null {
  const patch: Record<string, string> = {};
  const have = actual ?? {};
  for (const [k, v] of Object.entries(desired)) if (have[k] !== v) patch[k] = v;
  for (const k of Object.keys(have)) if (k.startsWith('tollgate') && !(k in desired)) patch[k] = '';
  return Object.keys(patch).length ? patch : null;
}
