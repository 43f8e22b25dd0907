import type { FastifyRequest } from 'fastify';
import type { OrgRole } from '../../db/schema/index.ts';
import { withOrgTx, withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import type { AuditContext } from '../../modules/audit/recordAudit.ts';
import { findMembership } from '../../modules/members/repo.ts';
import { findOrg, findOrgByRef } from '../../modules/orgs/repo.ts';
import { forbidden, notFound } from '../errors.ts';
import { requirePrincipal } from './authenticate.ts';
import { actorOf, isPlatformOperator, type Principal, roleAtLeast } from './principal.ts';

export interface OrgContext {
  orgId: string;
  role: OrgRole;
  operator: boolean;
  principal: Principal;
  audit: AuditContext;
}

/**
 * Resolves what the caller may do in `orgId`. Anyone without access gets 404 — the same answer
 * as for an org that does not exist, so org ids cannot be probed. A member without the role gets 403.
 */
export async function requireOrg(
  deps: Deps,
  request: FastifyRequest,
  orgId: string,
  minRole: OrgRole,
): Promise<OrgContext> {
  const principal = await requirePrincipal(deps, request);
  const role = await roleIn(deps, principal, orgId);
  if (!role) throw notFound('org');
  if (!roleAtLeast(role, minRole)) throw forbidden(`this action needs the ${minRole} role; you are ${role}`);
  return {
    orgId,
    role,
    operator: isPlatformOperator(principal),
    principal,
    audit: { actor: actorOf(principal), requestId: request.id },
  };
}

async function roleIn(deps: Deps, p: Principal, orgId: string): Promise<OrgRole | null> {
  if (p.kind === 'api_key') return p.orgId === orgId ? 'owner' : null;
  if (isPlatformOperator(p)) {
    const org = await withSystemTx(deps.database, (tx) => findOrg(tx, orgId));
    return org ? 'owner' : null;
  }
  if (p.kind !== 'user') return null;
  if (p.claimOrg) {
    // The session's org (exists: sessions cascade with it), or a JWT org claim naming this org by
    // our id or the IdP's id — looked up even when it equals the path, since the IdP may name an
    // org Tollgate does not have (which must be a 404, not an empty org).
    const claimed =
      p.via === 'session'
        ? p.claimOrg.ref
        : (await withSystemTx(deps.database, (tx) => findOrgByRef(tx, p.claimOrg!.ref)))?.id;
    if (claimed === orgId) {
      if (p.claimOrg.role) return p.claimOrg.role;
    } else if (p.via === 'session') return null; // a session is bound to one org
  }
  const m = await withOrgTx(deps.database, orgId, (tx) => findMembership(tx, orgId, p.userId));
  return m?.role ?? null;
}

/** Platform operators only (`/v1/admin/*`). Others get 403 once authenticated. */
export async function requireOperator(deps: Deps, request: FastifyRequest) {
  const principal = await requirePrincipal(deps, request);
  if (!isPlatformOperator(principal)) throw forbidden('platform operators only');
  return { principal, audit: { actor: actorOf(principal), requestId: request.id } satisfies AuditContext };
}
