import type { Tx } from '../../db/client.ts';
import type { OrgRole } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError } from '../../http/errors.ts';
import { newId } from '../../ids.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { presentMember } from './presentMember.ts';
import { findMembership, insertMembership, type UserRow } from './repo.ts';
import { resolveUser } from './resolveUser.ts';

/** Either an existing Tollgate user, or an identity-provider subject (created on first use). */
export type MemberRef =
  | { userId: string }
  | { externalId: string; email?: string | null | undefined; name?: string | null | undefined };

/** Adds a resolved user (see resolveUser) inside the caller's org transaction. */
export async function addMemberInTx(
  tx: Tx,
  audit: AuditContext,
  orgId: string,
  user: UserRow,
  role: OrgRole,
) {
  if (await findMembership(tx, orgId, user.id))
    throw new DomainError('conflict', 'this user is already a member of the org', { field: 'user_id' });
  const m = await insertMembership(tx, { id: newId('membership'), orgId, userId: user.id, role });
  const view = presentMember(m, user);
  await recordAudit(tx, audit, {
    orgId,
    action: 'member.added',
    targetType: 'membership',
    targetId: m.id,
    after: view,
  });
  return view;
}

/** Only an owner may create another owner; the route checks the caller is at least admin. */
export async function addMember(
  deps: Pick<Deps, 'database'>,
  audit: AuditContext,
  orgId: string,
  ref: MemberRef,
  role: OrgRole,
  callerRole: OrgRole,
) {
  if (role === 'owner' && callerRole !== 'owner')
    throw new DomainError('forbidden', 'only an owner can add an owner');
  const user = await resolveUser(deps, ref);
  return withOrgTx(deps.database, orgId, (tx) => addMemberInTx(tx, audit, orgId, user, role));
}
