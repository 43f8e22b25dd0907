/**
 * Amount arithmetic for prices, for whoever builds invoice lines: per-unit, tiered
 * graduated / volume, package pricing (transform_quantity) and decimal unit amounts.
 * Returns integer minor units (Stripe rounds decimal results half-up to the minor unit).
 */
import type { Emulator } from '../../core/context.ts';
import { type PriceRow, Prices, type TierRow } from './tables.ts';

export function priceTiers(ctx: Emulator, priceId: string): TierRow[] {
  return ctx.store.of(Prices).meta(priceId)?.tiers ?? [];
}

function unitAmount(tier: { unit_amount: number | null; unit_amount_decimal: string | null }): number {
  if (tier.unit_amount_decimal !== null) return Number(tier.unit_amount_decimal);
  return tier.unit_amount ?? 0;
}

function flatAmount(tier: TierRow): number {
  if (tier.flat_amount_decimal !== null) return Number(tier.flat_amount_decimal);
  return tier.flat_amount ?? 0;
}

/** Total for `quantity` units of `price`, in minor units. */
export function amountFor(ctx: Emulator, price: PriceRow, quantity: number): number {
  if (price.billing_scheme === 'tiered') {
    const tiers = priceTiers(ctx, price.id);
    if (price.tiers_mode === 'volume') {
      const tier = tiers.find((t) => t.up_to === null || quantity <= t.up_to) ?? tiers[tiers.length - 1];
      if (!tier) return 0;
      return Math.round(unitAmount(tier) * quantity + (quantity > 0 ? flatAmount(tier) : 0));
    }
    // graduated: each tier prices the units that fall inside it.
    let total = 0;
    let previous = 0;
    for (const tier of tiers) {
      if (quantity <= previous) break;
      const upper = tier.up_to === null ? quantity : Math.min(quantity, tier.up_to);
      const units = upper - previous;
      if (units > 0) total += unitAmount(tier) * units + flatAmount(tier);
      previous = tier.up_to ?? quantity;
    }
    return Math.round(total);
  }
  let units = quantity;
  if (price.transform_quantity) {
    const divided = quantity / price.transform_quantity.divide_by;
    units = price.transform_quantity.round === 'up' ? Math.ceil(divided) : Math.floor(divided);
  }
  return Math.round(unitAmount(price) * units);
}
