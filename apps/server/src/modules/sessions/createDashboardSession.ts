import type { OrgRole } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { hashSessionToken } from '../../http/auth/secrets.ts';
import { DomainError } from '../../http/errors.ts';
import { newId, randomToken } from '../../ids.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { addMemberInTx, type MemberRef } from '../members/addMember.ts';
import { findMembership } from '../members/repo.ts';
import { resolveUser } from '../members/resolveUser.ts';
import { insertSession } from './repo.ts';

export const LOGIN_LINK_TTL_MS = 5 * 60_000;

/**
 * A host backend asks for a one-time sign-in link for one of its users. The link works once,
 * for five minutes. A user who is not yet a member is added when `role` is given.
 */
export async function createDashboardSession(
  deps: Pick<Deps, 'database' | 'clock' | 'env'>,
  audit: AuditContext,
  orgId: string,
  ref: MemberRef,
  role: OrgRole | undefined,
) {
  const loginToken = randomToken(43);
  const now = deps.clock.now();
  const loginExpiresAt = new Date(now.getTime() + LOGIN_LINK_TTL_MS);
  // Resolve (or create) the user first, as the system role: a not-yet-member is invisible to
  // the tenant transaction. A link for an unknown user_id is a 404.
  const user = await resolveUser(deps, ref);
  const session = await withOrgTx(deps.database, orgId, async (tx) => {
    let membership = await findMembership(tx, orgId, user.id);
    if (!membership) {
      if (!role)
        throw new DomainError(
          'validation_failed',
          'role: required when the user is not yet a member of the org',
          {
            issues: [{ field: 'role', message: 'required when the user is not yet a member of the org' }],
          },
        );
      await addMemberInTx(tx, audit, orgId, user, role);
      membership = await findMembership(tx, orgId, user.id);
    }
    const row = await insertSession(tx, {
      id: newId('dashboardSession'),
      orgId,
      userId: user.id,
      loginTokenHash: hashSessionToken(deps.env.sessionSecret, loginToken),
      loginExpiresAt,
      csrfToken: randomToken(32),
      expiresAt: loginExpiresAt,
    });
    await recordAudit(tx, audit, {
      orgId,
      action: 'dashboard_session.created',
      targetType: 'user',
      targetId: user.id,
      after: { session_id: row.id, role: membership!.role },
    });
    return row;
  });
  return {
    id: session.id,
    user_id: session.userId,
    url: `${deps.env.publicUrl}/auth/dashboard?token=${loginToken}`,
    expires_at: loginExpiresAt.toISOString(),
  };
}
