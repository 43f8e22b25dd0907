import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// Random bytes are drawn 4 KiB at a time: one call into the CSPRNG serves many tokens (a request
// id per request adds up), and every byte is still used once only.
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let offset = 0;

function nextByte(): number {
  if (offset === POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  return pool[offset++]!;
}

/** Random base62 string; 62^n possibilities (n=20 is ~119 bits). */
export function randomToken(length: number): string {
  let out = '';
  while (out.length < length) {
    const b = nextByte();
    // Reject values that would bias the distribution (248 = 4 * 62).
    if (b < 248) out += ALPHABET[b % 62];
  }
  return out;
}

export const ID_PREFIXES = {
  org: 'org',
  user: 'usr',
  membership: 'mem',
  apiKey: 'key',
  dashboardSession: 'dss',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

/** Prefixed ids (`org_...`) so an id in a log line says what it is. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${randomToken(20)}`;
}
