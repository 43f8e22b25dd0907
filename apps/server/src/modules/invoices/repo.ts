import { and, desc, eq, isNotNull, lt, max, ne, notExists, or, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { invoices, organizations, subscriptions } from '../../db/schema/index.ts';

export type InvoiceRow = typeof invoices.$inferSelect;

/** Drafts are not shown: they are not issued yet and their amounts may still change. */
export const listIssuedInvoices = async (
  tx: Tx,
  orgId: string,
  page: { limit: number; after: InvoiceRow | null },
) =>
  tx
    .select()
    .from(invoices)
    .where(
      and(
        eq(invoices.orgId, orgId),
        ne(invoices.status, 'draft'),
        page.after
          ? or(
              lt(invoices.stripeCreatedAt, page.after.stripeCreatedAt),
              and(eq(invoices.stripeCreatedAt, page.after.stripeCreatedAt), lt(invoices.id, page.after.id)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(invoices.stripeCreatedAt), desc(invoices.id))
    .limit(page.limit + 1);

export const findInvoice = (tx: Tx, orgId: string, id: string) =>
  tx
    .select()
    .from(invoices)
    .where(and(eq(invoices.orgId, orgId), eq(invoices.id, id)))
    .then((r) => r[0] ?? null);

/** When the projection was last refreshed from Stripe (ms), or null when it never was. */
export const lastObservedAt = (tx: Tx, orgId: string) =>
  tx
    .select({ at: max(invoices.stripeUpdatedAt) })
    .from(invoices)
    .where(eq(invoices.orgId, orgId))
    .then((r) => r[0]?.at ?? null);

/**
 * True when a subscription of the org names a latest invoice the projection has not seen: a
 * subscribe or plan change just created one, so the list must not wait for the refresh interval.
 */
export const hasUnseenLatestInvoice = (tx: Tx, orgId: string) =>
  tx
    .select({ id: subscriptions.id })
    .from(subscriptions)
    .where(
      and(
        eq(subscriptions.orgId, orgId),
        isNotNull(subscriptions.latestInvoiceId),
        notExists(
          tx
            .select({ one: sql`1` })
            .from(invoices)
            .where(eq(invoices.id, sql`${subscriptions.latestInvoiceId}`)),
        ),
      ),
    )
    .limit(1)
    .then((r) => r.length > 0);

export const findBillingOrg = (tx: Tx, orgId: string) =>
  tx
    .select({
      customerId: organizations.stripeCustomerId,
      taxIdType: organizations.taxIdType,
      taxIdValue: organizations.taxIdValue,
    })
    .from(organizations)
    .where(eq(organizations.id, orgId))
    .then((r) => r[0] ?? null);
