import { withOrgTx, withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { presentApiKey } from './presentApiKey.ts';
import { listForOrg, listPlatform } from './repo.ts';

export async function listApiKeys(deps: Pick<Deps, 'database'>, orgId: string | null) {
  const rows = orgId
    ? await withOrgTx(deps.database, orgId, (tx) => listForOrg(tx, orgId))
    : await withSystemTx(deps.database, (tx) => listPlatform(tx));
  return rows.map(presentApiKey);
}
