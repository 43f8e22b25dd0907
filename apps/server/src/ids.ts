import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Random base62 string; 62^n possibilities (n=20 is ~119 bits). */
export function randomToken(length: number): string {
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; out.length < length && i < bytes.length; i++) {
    const b = bytes[i]!;
    // Reject values that would bias the distribution (248 = 4 * 62).
    if (b < 248) out += ALPHABET[b % 62];
  }
  return out.length === length ? out : out + randomToken(length - out.length);
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
