import { and, eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { memberships, type OrgRole } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError, notFound } from '../../http/errors.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { presentMember } from './presentMember.ts';
import { countOwners, deleteMembership, findUser, setRole } from './repo.ts';

async function loadMember(tx: Tx, orgId: string, membershipId: string) {
  const m = await tx
    .select()
    .from(memberships)
    .where(and(eq(memberships.id, membershipId), eq(memberships.orgId, orgId)))
    .for('update')
    .then((r) => r[0] ?? null);
  if (!m) throw notFound('member');
  return m;
}

/**
 * Lock order for every membership change: the org's owner rows (in id order), then the target.
 * Locking the target first let two owners demoting each other deadlock — each held its own row
 * and waited for the other's in countOwners — and Postgres failed one of them with a 500.
 */
const lockOwners = (tx: Tx, orgId: string) => countOwners(tx, orgId);

async function guardOwnerChange(tx: Tx, orgId: string, currentRole: OrgRole, callerRole: OrgRole) {
  if (currentRole !== 'owner') return;
  if (callerRole !== 'owner') throw new DomainError('forbidden', 'only an owner can change an owner');
  // Every org keeps at least one owner, or nobody could manage ownership again.
  if ((await countOwners(tx, orgId)) <= 1)
    throw new DomainError('conflict', 'an org must keep at least one owner');
}

/** Changes a member's role. Owners are protected: only owners touch owners, and one always remains. */
export async function changeMemberRole(
  deps: Pick<Deps, 'database'>,
  audit: AuditContext,
  orgId: string,
  membershipId: string,
  role: OrgRole,
  callerRole: OrgRole,
) {
  if (role === 'owner' && callerRole !== 'owner')
    throw new DomainError('forbidden', 'only an owner can make an owner');
  return withOrgTx(deps.database, orgId, async (tx) => {
    await lockOwners(tx, orgId);
    const m = await loadMember(tx, orgId, membershipId);
    if (m.role !== role) await guardOwnerChange(tx, orgId, m.role, callerRole);
    const updated = (await setRole(tx, m.id, role))!;
    const view = presentMember(updated, (await findUser(tx, m.userId))!);
    await recordAudit(tx, audit, {
      orgId,
      action: 'member.role_changed',
      targetType: 'membership',
      targetId: m.id,
      before: { role: m.role },
      after: { role },
    });
    return view;
  });
}

export async function removeMember(
  deps: Pick<Deps, 'database'>,
  audit: AuditContext,
  orgId: string,
  membershipId: string,
  callerRole: OrgRole,
) {
  return withOrgTx(deps.database, orgId, async (tx) => {
    await lockOwners(tx, orgId);
    const m = await loadMember(tx, orgId, membershipId);
    await guardOwnerChange(tx, orgId, m.role, callerRole);
    await deleteMembership(tx, m.id);
    await recordAudit(tx, audit, {
      orgId,
      action: 'member.removed',
      targetType: 'membership',
      targetId: m.id,
      before: { user_id: m.userId, role: m.role },
    });
  });
}
