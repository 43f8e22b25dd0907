import { and, count, desc, eq, inArray, lt, max, or } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { invoices, organizations, payments } from '../../db/schema/index.ts';

export type PaymentRow = typeof payments.$inferSelect;
export type PaymentWithInvoice = PaymentRow & { invoiceNumber: string | null };

const newestFirst = [desc(payments.stripeCreatedAt), desc(payments.id)];

/** A page of the history, newest first, by offset or after a cursor row (keyset). */
export const listPaymentRows = (
  tx: Tx,
  orgId: string,
  page: { limit: number; offset: number; after: PaymentRow | null },
): Promise<PaymentWithInvoice[]> =>
  tx
    .select({ p: payments, invoiceNumber: invoices.number })
    .from(payments)
    .leftJoin(invoices, eq(invoices.id, payments.invoiceId))
    .where(
      and(
        eq(payments.orgId, orgId),
        page.after
          ? or(
              lt(payments.stripeCreatedAt, page.after.stripeCreatedAt),
              and(eq(payments.stripeCreatedAt, page.after.stripeCreatedAt), lt(payments.id, page.after.id)),
            )
          : undefined,
      ),
    )
    .orderBy(...newestFirst)
    .limit(page.limit + 1)
    .offset(page.offset)
    .then((rows) => rows.map((r) => ({ ...r.p, invoiceNumber: r.invoiceNumber })));

export const countPayments = (tx: Tx, orgId: string) =>
  tx
    .select({ n: count() })
    .from(payments)
    .where(eq(payments.orgId, orgId))
    .then((r) => r[0]?.n ?? 0);

export const findPayment = (tx: Tx, orgId: string, id: string) =>
  tx
    .select()
    .from(payments)
    .where(and(eq(payments.orgId, orgId), eq(payments.id, id)))
    .then((r) => r[0] ?? null);

export const findPaymentWithInvoice = (tx: Tx, orgId: string, id: string) =>
  listPaymentRowsById(tx, orgId, [id]).then((r) => r[0] ?? null);

const listPaymentRowsById = (tx: Tx, orgId: string, ids: string[]): Promise<PaymentWithInvoice[]> =>
  tx
    .select({ p: payments, invoiceNumber: invoices.number })
    .from(payments)
    .leftJoin(invoices, eq(invoices.id, payments.invoiceId))
    .where(and(eq(payments.orgId, orgId), inArray(payments.id, ids)))
    .then((rows) => rows.map((r) => ({ ...r.p, invoiceNumber: r.invoiceNumber })));

/** Ids of payments already projected (their invoice link is known). */
export const knownPaymentIds = (tx: Tx, orgId: string, ids: string[]) =>
  ids.length
    ? tx
        .select({ id: payments.id })
        .from(payments)
        .where(and(eq(payments.orgId, orgId), inArray(payments.id, ids)))
        .then((r) => new Set(r.map((x) => x.id)))
    : Promise.resolve(new Set<string>());

/** When the history was last refreshed from Stripe (ms), or null when it never was. */
export const lastPaymentsObservedAt = (tx: Tx, orgId: string) =>
  tx
    .select({ at: max(payments.stripeUpdatedAt) })
    .from(payments)
    .where(eq(payments.orgId, orgId))
    .then((r) => r[0]?.at ?? null);

export const findCustomerId = (tx: Tx, orgId: string) =>
  tx
    .select({ customerId: organizations.stripeCustomerId })
    .from(organizations)
    .where(eq(organizations.id, orgId))
    .then((r) => r[0]?.customerId ?? null);
