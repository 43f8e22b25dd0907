import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError, validationFailed } from '../../http/errors.ts';
import { countPayments, findPayment, lastPaymentsObservedAt, listPaymentRows } from './historyRepo.ts';
import { presentPayment } from './presentPayment.ts';
import { syncPayments } from './syncPayments.ts';

/** How old the history may be before a list refreshes it from Stripe. */
export const PAYMENTS_FRESH_MS = 60_000;

export interface ListPaymentsInput {
  limit: number;
  /** Offset pagination (page numbers); ignored with a cursor. */
  offset?: number | undefined;
  /** Cursor pagination: the last id of the previous page. */
  startingAfter?: string | undefined;
  refresh?: boolean | undefined;
}

/**
 * The org's payment history, newest first, with two ways to page: `offset` (with `total_count`,
 * for numbered pages) and `starting_after` (stable while new payments arrive). The first page
 * refreshes the projection from Stripe when it is older than a minute or when asked to; if that
 * implicit refresh cannot reach Stripe the last known history is served.
 */
export async function listPayments(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock' | 'logger' | 'env'>,
  orgId: string,
  input: ListPaymentsInput,
) {
  const firstPage = !input.startingAfter && !input.offset;
  if (firstPage || input.refresh) await refreshIfStale(deps, orgId, input.refresh ?? false);
  return withOrgTx(deps.database, orgId, async (tx) => {
    const after = input.startingAfter ? await findPayment(tx, orgId, input.startingAfter) : null;
    if (input.startingAfter && !after)
      throw validationFailed([
        { field: 'starting_after', message: 'not a payment of this org', in: 'query' },
      ]);
    const rows = await listPaymentRows(tx, orgId, {
      limit: input.limit,
      offset: after ? 0 : (input.offset ?? 0),
      after,
    });
    return {
      data: rows.slice(0, input.limit).map(presentPayment),
      has_more: rows.length > input.limit,
      total_count: await countPayments(tx, orgId),
    };
  });
}

async function refreshIfStale(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock' | 'logger' | 'env'>,
  orgId: string,
  force: boolean,
) {
  const stale =
    force ||
    (await withOrgTx(deps.database, orgId, async (tx) => {
      const at = await lastPaymentsObservedAt(tx, orgId);
      return at === null || deps.clock.nowMs() - at > PAYMENTS_FRESH_MS;
    }));
  if (!stale) return;
  try {
    await syncPayments(deps, orgId);
  } catch (err) {
    if (force || !(err instanceof DomainError) || err.code !== 'stripe_unavailable') throw err;
    deps.logger.warn({ err, orgId }, 'payments served from the projection: Stripe unavailable');
  }
}
