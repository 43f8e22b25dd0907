import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { randomToken } from '../../ids.ts';

export const API_KEY_PREFIX = 'tg_sk_';

/** A new secret key; only its hash is stored, `prefix` is what lists show. */
export function generateApiKey(): { secret: string; prefix: string; hash: string } {
  const secret = `${API_KEY_PREFIX}${randomToken(40)}`;
  return { secret, prefix: secret.slice(0, API_KEY_PREFIX.length + 6), hash: hashApiKey(secret) };
}

/** Keys are 238-bit random, so a fast hash is enough (no password stretching needed). */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Session and login tokens are hashed with the server secret, so a database leak cannot forge cookies. */
export function hashSessionToken(secret: string, token: string): string {
  return createHmac('sha256', secret).update(token).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
