/**
 * Parameter shapes and helpers shared by several resources.
 */
import type Stripe from 'stripe';
import { type Infer, p } from '../http/params.ts';

export const addressParams = p.object({
  city: p.emptyable(p.string()),
  country: p.emptyable(p.string()),
  line1: p.emptyable(p.string()),
  line2: p.emptyable(p.string()),
  postal_code: p.emptyable(p.string()),
  state: p.emptyable(p.string()),
});

export function toAddress(params: Infer<typeof addressParams>): Stripe.Address {
  return {
    city: params.city ?? null,
    country: params.country ?? null,
    line1: params.line1 ?? null,
    line2: params.line2 ?? null,
    postal_code: params.postal_code ?? null,
    state: params.state ?? null,
  };
}

export const shippingParams = p.object({
  address: p.required(addressParams),
  name: p.required(p.string()),
  phone: p.string(),
});

export function toShipping(params: Infer<typeof shippingParams>) {
  return {
    address: toAddress(params.address),
    name: params.name,
    phone: params.phone ?? null,
  };
}

/**
 * Stripe's metadata update: keys merge; a key set to '' is removed; `metadata=''` clears all.
 * `undefined` (not sent) keeps the old metadata.
 */
export function mergeMetadata(
  old: Stripe.Metadata,
  patch: Record<string, string | null> | null | undefined,
): Stripe.Metadata {
  if (patch === undefined) return old;
  if (patch === null) return {};
  const out: Stripe.Metadata = { ...old };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = value;
  }
  return out;
}

/** For optional-string params: `undefined` keeps `old`, null ('' sent) clears. */
export function keepOr<T>(value: T | null | undefined, old: T | null): T | null {
  return value === undefined ? old : value;
}
