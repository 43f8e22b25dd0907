import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { notFound } from '../../http/errors.ts';
import { presentOrg } from './presentOrg.ts';
import { findOrg } from './repo.ts';

export async function getOrg(deps: Pick<Deps, 'database'>, orgId: string) {
  const org = await withOrgTx(deps.database, orgId, (tx) => findOrg(tx, orgId));
  if (!org) throw notFound('org');
  return presentOrg(org);
}
