import { and, asc, eq, inArray, notInArray, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { plans, prices } from '../../db/schema/index.ts';

export type PlanRow = typeof plans.$inferSelect;
export type PriceRow = typeof prices.$inferSelect;
export type PlanInsert = typeof plans.$inferInsert;
export type PriceInsert = typeof prices.$inferInsert;

export async function upsertPlan(tx: Tx, row: PlanInsert) {
  const { key: _key, ...set } = row;
  await tx.insert(plans).values(row).onConflictDoUpdate({ target: plans.key, set });
}

/** Plans no longer in the catalog stay (subscriptions may name them) but are inactive. */
export async function deactivatePlansExcept(tx: Tx, keys: string[], now: Date) {
  await tx
    .update(plans)
    .set({ active: false, updatedAt: now })
    .where(and(eq(plans.active, true), keys.length ? notInArray(plans.key, keys) : undefined));
}

/**
 * Every price but `activeIds` becomes archived and gives up its lookup key. Runs before the
 * upserts: the lookup key index is unique, and a key may just have moved to a new price.
 */
export async function archivePricesExcept(tx: Tx, activeIds: string[]) {
  await tx
    .update(prices)
    .set({ active: false, lookupKey: null })
    .where(activeIds.length ? notInArray(prices.id, activeIds) : sql`true`);
}

export async function upsertPrice(tx: Tx, row: PriceInsert) {
  const { id: _id, createdAt: _c, ...set } = row;
  await tx.insert(prices).values(row).onConflictDoUpdate({ target: prices.id, set });
}

/** Records an archived price we did not know yet (history: its subscribers keep it). */
export async function insertArchivedPrice(tx: Tx, row: PriceInsert) {
  await tx
    .insert(prices)
    .values({ ...row, active: false, lookupKey: null })
    .onConflictDoUpdate({ target: prices.id, set: { active: false, lookupKey: null } });
}

export const listActivePlans = (tx: Tx) =>
  tx.select().from(plans).where(eq(plans.active, true)).orderBy(asc(plans.rank), asc(plans.key));

export const listActivePrices = (tx: Tx, kinds: PriceRow['kind'][]) =>
  tx
    .select()
    .from(prices)
    .where(and(eq(prices.active, true), inArray(prices.kind, kinds)))
    .orderBy(asc(prices.kind), asc(prices.refKey), asc(prices.interval));
