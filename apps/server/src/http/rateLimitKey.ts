import type { FastifyRequest } from 'fastify';
import type { Deps } from '../deps.ts';
import { requirePrincipal, SESSION_COOKIE } from './auth/authenticate.ts';
import type { Principal } from './auth/principal.ts';

function principalKey(p: Principal): string {
  if (p.kind !== 'user') return p.keyId;
  return p.sessionId ?? p.userId;
}

/**
 * Authenticated callers are limited per verified credential (`k:`), everyone else per IP (`ip:`).
 * The credential is verified first (memoised, so the route does not verify it again): keying on
 * the raw header let any made-up token buy a fresh budget and escape the per-IP limit.
 */
export async function rateLimitKey(deps: Deps, request: FastifyRequest): Promise<string> {
  if (request.headers.authorization || request.cookies?.[SESSION_COOKIE]) {
    try {
      return `k:${principalKey(await requirePrincipal(deps, request))}`;
    } catch {
      // Invalid credentials count against the IP; the route answers 401/403 from the same memo.
    }
  }
  return `ip:${request.ip}`;
}
