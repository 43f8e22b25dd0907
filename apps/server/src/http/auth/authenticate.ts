import type { FastifyRequest } from 'fastify';
import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { authenticateApiKey } from '../../modules/api-keys/authenticateApiKey.ts';
import { upsertUser } from '../../modules/members/upsertUser.ts';
import { authenticateSession } from '../../modules/sessions/authenticateSession.ts';
import { DomainError, unauthenticated } from '../errors.ts';
import { normalizeRole as normalizeClaimRole, type Principal } from './principal.ts';
import { API_KEY_PREFIX, safeEqual } from './secrets.ts';

export const SESSION_COOKIE = 'tg_session';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    principalPromise?: Promise<Principal>;
  }
}

/**
 * Establishes who is calling, once per request (memoised): a Tollgate secret key, the bootstrap
 * admin key, a bearer JWT from the host's identity provider, or a dashboard session cookie.
 * Anything present but invalid is a 401 — a bad credential is never silently ignored.
 */
export function requirePrincipal(deps: Deps, request: FastifyRequest): Promise<Principal> {
  request.principalPromise ??= resolvePrincipal(deps, request);
  return request.principalPromise;
}

async function resolvePrincipal(deps: Deps, request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  if (header) {
    const [scheme, token] = header.split(' ', 2);
    if (scheme?.toLowerCase() !== 'bearer' || !token)
      throw unauthenticated('Authorization must be "Bearer <token>"');
    return fromBearer(deps, token);
  }
  const cookie = request.cookies?.[SESSION_COOKIE];
  if (cookie) return fromSession(deps, request, cookie);
  throw unauthenticated('no credentials: send "Authorization: Bearer <key or token>"');
}

async function fromBearer(deps: Deps, token: string): Promise<Principal> {
  if (token.startsWith(API_KEY_PREFIX)) {
    if (deps.env.adminKey && safeEqual(token, deps.env.adminKey))
      return { kind: 'platform_key', keyId: 'bootstrap', prefix: token.slice(0, API_KEY_PREFIX.length + 6) };
    const key = await authenticateApiKey(deps, token);
    if (!key) throw unauthenticated('invalid or revoked API key');
    return key.orgId
      ? { kind: 'api_key', keyId: key.id, orgId: key.orgId, prefix: key.prefix }
      : { kind: 'platform_key', keyId: key.id, prefix: key.prefix };
  }
  if (!deps.jwt)
    throw unauthenticated('user tokens are not configured on this server (JWT_SECRET or JWT_JWKS_URL)');
  const claims = await deps.jwt(token);
  if (!claims) throw unauthenticated('invalid, expired or misaddressed token');
  const user = await withSystemTx(deps.database, (tx) =>
    upsertUser(tx, { externalId: claims.externalId, email: claims.email }),
  );
  return {
    kind: 'user',
    via: 'jwt',
    userId: user.id,
    externalId: user.externalId,
    email: user.email ?? claims.email,
    isPlatformOperator: user.isPlatformOperator,
    claimOrg: claims.orgRef ? { ref: claims.orgRef, role: normalizeClaimRole(claims.orgRole) } : null,
  };
}

async function fromSession(deps: Deps, request: FastifyRequest, cookie: string): Promise<Principal> {
  const found = await authenticateSession(deps, cookie);
  if (!found) throw unauthenticated('your dashboard session has expired; sign in again');
  // Cookies ride along on cross-site requests; a mutation must also prove it read our page.
  if (!SAFE_METHODS.has(request.method)) {
    const sent = request.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !safeEqual(sent, found.session.csrfToken))
      throw new DomainError('csrf_failed', `missing or wrong ${CSRF_HEADER} header`);
  }
  return {
    kind: 'user',
    via: 'session',
    userId: found.user.id,
    externalId: found.user.externalId,
    email: found.user.email,
    isPlatformOperator: found.user.isPlatformOperator,
    claimOrg: { ref: found.session.orgId, role: found.role ?? null },
    sessionId: found.session.id,
    csrfToken: found.session.csrfToken,
  };
}
