import type { OrgRole } from '../../db/schema/memberships.ts';

/** Who is calling, as established by authentication (before any org is considered). */
export type Principal =
  | { kind: 'api_key'; keyId: string; orgId: string; prefix: string }
  | { kind: 'platform_key'; keyId: string; prefix: string }
  | {
      kind: 'user';
      via: 'jwt' | 'session';
      userId: string;
      externalId: string | null;
      email: string | null;
      isPlatformOperator: boolean;
      /** Org granted by the credential itself: a JWT org claim, or the session's org. */
      claimOrg: { ref: string; role: OrgRole | null } | null;
      sessionId?: string;
      csrfToken?: string;
    };

/** What audit entries record as "who". */
export interface Actor {
  type: 'user' | 'api_key' | 'platform' | 'system' | 'stripe_event';
  id: string | null;
}

export function actorOf(p: Principal): Actor {
  switch (p.kind) {
    case 'api_key':
      return { type: 'api_key', id: p.keyId };
    case 'platform_key':
      return { type: 'platform', id: p.keyId };
    case 'user':
      return { type: 'user', id: p.userId };
  }
}

export function isPlatformOperator(p: Principal): boolean {
  return p.kind === 'platform_key' || (p.kind === 'user' && p.isPlatformOperator);
}

const RANK: Record<OrgRole, number> = { member: 1, admin: 2, owner: 3 };

export function roleAtLeast(role: OrgRole, min: OrgRole): boolean {
  return RANK[role] >= RANK[min];
}

/** Maps IdP role names (Clerk: `org:admin`, `admin`, `basic_member`) onto Tollgate roles. */
export function normalizeRole(raw: unknown): OrgRole | null {
  if (typeof raw !== 'string') return null;
  const r = raw.replace(/^org:/, '').toLowerCase();
  if (r === 'owner') return 'owner';
  if (r === 'admin') return 'admin';
  if (r === 'member' || r === 'basic_member') return 'member';
  return null;
}
