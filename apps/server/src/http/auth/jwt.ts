import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { Env } from '../../env.ts';

export interface VerifiedUserToken {
  externalId: string;
  email: string | null;
  orgRef: string | null;
  orgRole: unknown;
}

export type JwtVerifier = (token: string) => Promise<VerifiedUserToken | null>;

/** Reads `a.b.c` paths so nested claims (Clerk's `o.id`) can be configured. */
function claim(payload: JWTPayload, paths: string[]): unknown {
  for (const path of paths) {
    let v: unknown = payload;
    for (const part of path.split('.'))
      v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
}

/**
 * Verifies bearer JWTs from the host product's identity provider: HS256 with a shared secret or
 * any asymmetric algorithm from a JWKS URL; issuer and audience checked when configured.
 * Returns null when the token is invalid, expired or for someone else — the caller answers 401.
 */
export function createJwtVerifier(
  env: Pick<
    Env,
    | 'JWT_SECRET'
    | 'JWT_JWKS_URL'
    | 'JWT_ISSUER'
    | 'JWT_AUDIENCE'
    | 'JWT_CLAIM_USER_ID'
    | 'JWT_CLAIM_EMAIL'
    | 'JWT_CLAIM_ORG_ID'
    | 'JWT_CLAIM_ORG_ROLE'
  >,
): JwtVerifier | null {
  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[];
  if (env.JWT_JWKS_URL) {
    key = createRemoteJWKSet(new URL(env.JWT_JWKS_URL), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    algorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'];
  } else if (env.JWT_SECRET) {
    key = new TextEncoder().encode(env.JWT_SECRET);
    algorithms = ['HS256'];
  } else {
    return null;
  }
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, key as Uint8Array, {
        algorithms,
        issuer: env.JWT_ISSUER,
        audience: env.JWT_AUDIENCE,
        clockTolerance: 5,
        requiredClaims: ['exp'],
      });
      const externalId = claim(payload, env.JWT_CLAIM_USER_ID);
      if (typeof externalId !== 'string' || !externalId) return null;
      const email = claim(payload, env.JWT_CLAIM_EMAIL);
      const orgRef = claim(payload, env.JWT_CLAIM_ORG_ID);
      return {
        externalId,
        email: typeof email === 'string' ? email : null,
        orgRef: typeof orgRef === 'string' ? orgRef : null,
        orgRole: claim(payload, env.JWT_CLAIM_ORG_ROLE),
      };
    } catch {
      return null;
    }
  };
}
