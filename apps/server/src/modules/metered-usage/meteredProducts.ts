import { createHash } from 'node:crypto';
import type { Deps } from '../../deps.ts';
import { listCreditProducts } from '../catalog/listCreditProducts.ts';

export type MeteredProduct = Awaited<ReturnType<typeof listCreditProducts>>['metered'][number];

/** The catalog's metered prices by key: the add-ons and, when configured, `credit_overage`. */
export async function meteredProducts(deps: Pick<Deps, 'database'>): Promise<Map<string, MeteredProduct>> {
  const { metered } = await listCreditProducts(deps);
  return new Map(metered.map((m) => [m.key, m]));
}

/**
 * The meter event identifier for a usage record: derived from the org and the caller's
 * idempotency key, so the same usage can never become two meter events (Stripe rejects a
 * repeated identifier, which the reporter then counts as already reported). Max 100 characters.
 */
export const usageIdentifier = (orgId: string, idempotencyKey: string) =>
  `tgu_${createHash('sha256').update(`${orgId}:${idempotencyKey}`).digest('hex').slice(0, 48)}`;

const SCALE = 10n ** 12n;

/**
 * quantity × a decimal unit amount (minor units, up to 12 decimals), rounded half up to an
 * integer number of minor units — how the invoice line is computed for a metered price.
 */
export function estimateCharge(quantity: number, unitAmountDecimal: string): number {
  const [whole = '0', frac = ''] = unitAmountDecimal.split('.');
  const units = BigInt(whole) * SCALE + BigInt((frac + '0'.repeat(12)).slice(0, 12));
  const total = BigInt(quantity) * units;
  return Number((total + SCALE / 2n) / SCALE);
}
