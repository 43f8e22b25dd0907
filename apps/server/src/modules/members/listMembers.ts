import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { presentMember } from './presentMember.ts';
import { listMemberRows } from './repo.ts';

export async function listMembers(deps: Pick<Deps, 'database'>, orgId: string) {
  const rows = await withOrgTx(deps.database, orgId, (tx) => listMemberRows(tx, orgId));
  return rows.map((r) => presentMember(r.membership, r.user));
}
