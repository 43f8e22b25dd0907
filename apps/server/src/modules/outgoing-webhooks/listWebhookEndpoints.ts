import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { presentEndpoint } from './present.ts';
import { listEndpointRows } from './repo.ts';

/** Every registered endpoint, newest first, without secrets. */
export async function listWebhookEndpoints(deps: Pick<Deps, 'database'>) {
  const rows = await withSystemTx(deps.database, (tx) => listEndpointRows(tx));
  return rows.map(presentEndpoint);
}
