import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { notFound } from '../../http/errors.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { syncInvoices } from '../invoices/syncInvoices.ts';
import { listPaymentMethods } from '../payment-methods/listPaymentMethods.ts';
import { syncPayments } from '../payments/syncPayments.ts';
import { diffProjection, type SyncDifference } from './diffProjection.ts';
import { healPaymentState } from './healPaymentState.ts';
import { findOrgLink, readProjection } from './repo.ts';
import { syncSubscriptions } from './syncSubscriptions.ts';

/** Full env and a logger: a paid period found by a sync grants credits, and the alerts hook runs. */
export type SyncDeps = Pick<Deps, 'database' | 'stripe' | 'clock' | 'logger' | 'env'>;

export interface OrgSyncSummary {
  orgId: string;
  customerId: string | null;
  /** What Stripe listed for the org. */
  seen: { subscriptions: number; invoices: number; payments: number; payment_methods: number };
  /** What the projection said differently before this sync (and now says as Stripe does). */
  differences: SyncDifference[];
  /** Why nothing was synced (no customer, customer deleted in Stripe). */
  skipped?: string;
}

/**
 * Re-reads the org's customer, subscriptions (every status), invoices, payments and cards from
 * Stripe and writes them through the projection writers the webhooks and API use, brings the
 * payment-failure state in line with the invoices (healPaymentState), then reports what differed. Every writer is watermarked by when its page was read, so a sync racing a
 * webhook never regresses newer state, and running it again changes nothing. Stripe failures
 * propagate (nothing is half-reported: what was already applied stays applied and correct).
 */
export async function syncOrgFromStripe(deps: SyncDeps, orgId: string): Promise<OrgSyncSummary> {
  const link = await withOrgTx(deps.database, orgId, (tx) => findOrgLink(tx, orgId));
  if (!link) throw notFound('org');
  const seen = { subscriptions: 0, invoices: 0, payments: 0, payment_methods: 0 };
  const customerId = link.customerId;
  if (!customerId) return { orgId, customerId, seen, differences: [], skipped: 'no Stripe customer' };
  const customer = await withStripeRetry(() => deps.stripe.customers.retrieve(customerId));
  if ('deleted' in customer && customer.deleted)
    return { orgId, customerId, seen, differences: [], skipped: 'the Stripe customer is deleted' };

  const before = await withOrgTx(deps.database, orgId, (tx) => readProjection(tx, orgId));
  seen.subscriptions = await syncSubscriptions(deps, orgId, customerId);
  seen.invoices = await syncInvoices(deps, orgId);
  seen.payments = await syncPayments(deps, orgId);
  seen.payment_methods = (await listPaymentMethods(deps, orgId)).length;
  await withOrgTx(deps.database, orgId, (tx) => healPaymentState(tx, orgId, deps.env.GRACE_PERIOD_DAYS));
  const after = await withOrgTx(deps.database, orgId, (tx) => readProjection(tx, orgId));
  return { orgId, customerId, seen, differences: diffProjection(orgId, before, after) };
}
