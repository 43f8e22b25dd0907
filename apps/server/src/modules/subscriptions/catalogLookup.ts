import { eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { plans } from '../../db/schema/index.ts';
import { DomainError } from '../../http/errors.ts';
import type { PriceSpec } from '../catalog/catalogSchema.ts';
import { findPlanPrice, type PriceRow } from './repo.ts';

export interface PlanChoice {
  planKey: string;
  interval: 'month' | 'year';
  seats: number;
}

const bad = (field: string, message: string) =>
  new DomainError('validation_failed', `${field}: ${message}`, { issues: [{ field, message }] });

/** Resolves a plan + interval + seats to the catalog's active Stripe price, validating seats. */
export async function resolvePlanPrice(tx: Tx, choice: PlanChoice) {
  const [plan] = await tx.select().from(plans).where(eq(plans.key, choice.planKey));
  if (!plan?.active) throw bad('plan', `unknown plan "${choice.planKey}"`);
  const price = await findPlanPrice(tx, choice.planKey, choice.interval);
  if (!price) {
    if (!(await findPlanPrice(tx, choice.planKey, choice.interval === 'month' ? 'year' : 'month')))
      throw bad('plan', `"${choice.planKey}" is free: it needs no subscription`);
    throw bad('interval', `plan "${choice.planKey}" has no ${choice.interval}ly price`);
  }
  const spec = price.spec as PriceSpec;
  if (spec.model === 'per_seat') {
    if (choice.seats < spec.minSeats) throw bad('seats', `at least ${spec.minSeats}`);
    if (spec.maxSeats && choice.seats > spec.maxSeats) throw bad('seats', `at most ${spec.maxSeats}`);
  } else if (spec.model === 'flat' && choice.seats !== 1) {
    throw bad('seats', `plan "${choice.planKey}" is not priced per seat`);
  }
  return { plan, price };
}

/** Yearly-equivalent cost in minor units: how upgrades are told from downgrades. */
export function annualValue(price: PriceRow, seats: number): number {
  const spec = price.spec as PriceSpec;
  let perPeriod: number;
  if (spec.model === 'flat') perPeriod = spec.amount;
  else if (spec.model === 'per_seat') perPeriod = spec.amount * seats;
  else perPeriod = tieredAmount(spec, seats);
  return price.interval === 'year' ? perPeriod : perPeriod * 12;
}

function tieredAmount(spec: Extract<PriceSpec, { model: 'tiered' }>, qty: number): number {
  if (spec.mode === 'volume') {
    const tier = spec.tiers.find((t) => t.upTo === 'inf' || qty <= t.upTo)!;
    return (tier.unitAmount ?? 0) * qty + (tier.flatAmount ?? 0);
  }
  let total = 0;
  let from = 0;
  for (const t of spec.tiers) {
    const to = t.upTo === 'inf' ? qty : Math.min(qty, t.upTo);
    if (to > from) total += (t.unitAmount ?? 0) * (to - from) + (t.flatAmount ?? 0);
    from = t.upTo === 'inf' ? qty : t.upTo;
    if (from >= qty) break;
  }
  return total;
}
