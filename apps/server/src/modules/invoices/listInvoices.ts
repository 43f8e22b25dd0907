import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError, validationFailed } from '../../http/errors.ts';
import { presentInvoice } from './presentInvoice.ts';
import { findInvoice, hasUnseenLatestInvoice, lastObservedAt, listIssuedInvoices } from './repo.ts';
import { syncInvoices } from './syncInvoices.ts';

/** How old the projection may be before a list refreshes it from Stripe. */
export const INVOICES_FRESH_MS = 60_000;

export interface ListInvoicesInput {
  limit: number;
  startingAfter?: string | undefined;
  /** Refresh from Stripe first, whatever the projection's age. */
  refresh?: boolean | undefined;
}

/**
 * The org's issued invoices, newest first, from the projection. The projection is refreshed from
 * Stripe first when asked to, when it is older than a minute, or when a subscription names a
 * latest invoice it has not seen (right after subscribing or upgrading). When that implicit
 * refresh fails (Stripe unreachable) the last known state is served; an explicit one fails (503).
 */
export async function listInvoices(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock' | 'logger' | 'env'>,
  orgId: string,
  input: ListInvoicesInput,
) {
  if (!input.startingAfter) await refreshIfStale(deps, orgId, input.refresh ?? false);
  return withOrgTx(deps.database, orgId, async (tx) => {
    const after = input.startingAfter ? await findInvoice(tx, orgId, input.startingAfter) : null;
    if (input.startingAfter && !after)
      throw validationFailed([
        { field: 'starting_after', message: 'not an invoice of this org', in: 'query' },
      ]);
    const rows = await listIssuedInvoices(tx, orgId, { limit: input.limit, after });
    return {
      data: rows.slice(0, input.limit).map((r) => presentInvoice(r, deps.env.publicUrl)),
      has_more: rows.length > input.limit,
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
      const at = await lastObservedAt(tx, orgId);
      return at === null || deps.clock.nowMs() - at > INVOICES_FRESH_MS || hasUnseenLatestInvoice(tx, orgId);
    }));
  if (!stale) return;
  try {
    await syncInvoices(deps, orgId);
  } catch (err) {
    if (force || !(err instanceof DomainError) || err.code !== 'stripe_unavailable') throw err;
    deps.logger.warn({ err, orgId }, 'invoices served from the projection: Stripe unavailable');
  }
}
