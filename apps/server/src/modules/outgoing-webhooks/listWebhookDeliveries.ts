import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { validationFailed } from '../../http/errors.ts';
import { presentDelivery } from './present.ts';
import { type DeliveryFilter, findDelivery, listDeliveryRows } from './repo.ts';

/** The delivery log, newest first; `startingAfter` is the last id of the previous page. */
export async function listWebhookDeliveries(
  deps: Pick<Deps, 'database'>,
  opts: Omit<DeliveryFilter, 'before'> & { startingAfter?: string | undefined },
) {
  const rows = await withSystemTx(deps.database, async (tx) => {
    let before: DeliveryFilter['before'];
    if (opts.startingAfter) {
      const cursor = await findDelivery(tx, opts.startingAfter);
      if (!cursor)
        throw validationFailed([{ field: 'starting_after', message: 'no such delivery', in: 'query' }]);
      before = { createdAt: cursor.createdAt, id: cursor.id };
    }
    return listDeliveryRows(tx, { ...opts, before });
  });
  return { data: rows.slice(0, opts.limit).map(presentDelivery), has_more: rows.length > opts.limit };
}
