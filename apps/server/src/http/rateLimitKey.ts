import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/**
 * Authenticated callers are limited per credential (`k:`), anonymous ones per IP (`ip:`).
 * The credential is hashed so the limiter's memory never holds a secret.
 */
export function rateLimitKey(request: FastifyRequest): string {
  const auth = request.headers.authorization;
  if (auth) return `k:${createHash('sha1').update(auth).digest('base64url').slice(0, 16)}`;
  const cookie = request.cookies?.tg_session;
  if (cookie) return `k:${createHash('sha1').update(cookie).digest('base64url').slice(0, 16)}`;
  return `ip:${request.ip}`;
}
