import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError } from '../../http/errors.ts';
import { newId } from '../../ids.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { addMemberInTx, type MemberRef } from '../members/addMember.ts';
import { resolveUser } from '../members/resolveUser.ts';
import { presentOrg } from './presentOrg.ts';
import { insertOrg } from './repo.ts';

export interface CreateOrgInput {
  name: string;
  billingEmail?: string | undefined;
  externalId?: string | undefined;
  owner?: MemberRef | undefined;
}

/** Creates an org (and optionally its first owner) in one transaction scoped to the new org. */
export async function createOrg(deps: Pick<Deps, 'database'>, audit: AuditContext, input: CreateOrgInput) {
  const id = newId('org');
  const owner = input.owner ? await resolveUser(deps, input.owner) : null;
  try {
    return await withOrgTx(deps.database, id, async (tx) => {
      const org = await insertOrg(tx, {
        id,
        name: input.name,
        billingEmail: input.billingEmail ?? null,
        externalId: input.externalId ?? null,
      });
      if (owner) await addMemberInTx(tx, audit, id, owner, 'owner');
      const view = presentOrg(org);
      await recordAudit(tx, audit, {
        orgId: id,
        action: 'org.created',
        targetType: 'org',
        targetId: id,
        after: view,
      });
      return view;
    });
  } catch (err) {
    if (
      (err as { code?: string }).code === '23505' ||
      (err as { cause?: { code?: string } }).cause?.code === '23505'
    )
      throw new DomainError('conflict', 'an org with this external_id already exists', {
        field: 'external_id',
      });
    throw err;
  }
}
