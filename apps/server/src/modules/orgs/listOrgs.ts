import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { presentOrg } from './presentOrg.ts';
import { listOrgRows } from './repo.ts';

/** Operator view over every org; keyset pagination by id. */
export async function listOrgs(
  deps: Pick<Deps, 'database'>,
  opts: { startingAfter?: string | undefined; limit: number; q?: string | undefined },
) {
  const rows = await withSystemTx(deps.database, (tx) =>
    listOrgRows(tx, { after: opts.startingAfter, limit: opts.limit, q: opts.q }),
  );
  const hasMore = rows.length > opts.limit;
  return { data: rows.slice(0, opts.limit).map(presentOrg), has_more: hasMore };
}
