import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

// Ids are minted on every create, so random bytes are drawn in blocks instead of one
// syscall per id. 256 % 62 leaves a tiny bias; ids only need to be unique, not uniform.
let pool = randomBytes(4096);
let poolOffset = 0;

export function randomAlphanumeric(length: number): string {
  if (poolOffset + length > pool.length) {
    pool = randomBytes(4096);
    poolOffset = 0;
  }
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[pool[poolOffset + i]! % 62];
  poolOffset += length;
  return out;
}

/** A Stripe-looking id: `cus_` + 24 alphanumerics. */
export function newId(prefix: string): string {
  return `${prefix}_${randomAlphanumeric(24)}`;
}

export function newRequestId(): string {
  return `req_${randomAlphanumeric(14)}`;
}
