import { and, asc, eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { memberships, type OrgRole, users } from '../../db/schema/index.ts';

export type UserRow = typeof users.$inferSelect;

export const findUser = (tx: Tx, id: string) =>
  tx
    .select()
    .from(users)
    .where(eq(users.id, id))
    .limit(1)
    .then((r) => r[0] ?? null);

export const findUserByExternalId = (tx: Tx, externalId: string) =>
  tx
    .select()
    .from(users)
    .where(eq(users.externalId, externalId))
    .limit(1)
    .then((r) => r[0] ?? null);

/** Insert-or-return by external id; concurrent first requests of one user converge on one row. */
export async function upsertUserRow(tx: Tx, row: typeof users.$inferInsert): Promise<UserRow> {
  const inserted = await tx
    .insert(users)
    .values(row)
    .onConflictDoNothing({ target: users.externalId })
    .returning();
  if (inserted[0]) return inserted[0];
  return (await findUserByExternalId(tx, row.externalId!))!;
}

export const findMembership = (tx: Tx, orgId: string, userId: string) =>
  tx
    .select()
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)))
    .limit(1)
    .then((r) => r[0] ?? null);

export const listMemberRows = (tx: Tx, orgId: string) =>
  tx
    .select({ membership: memberships, user: users })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.orgId, orgId))
    .orderBy(asc(memberships.createdAt), asc(memberships.id));

export const countOwners = (tx: Tx, orgId: string) =>
  tx
    .select({ id: memberships.id })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.role, 'owner')))
    // Locks the owner rows so two concurrent demotions cannot both see "another owner remains";
    // always in id order, so concurrent callers queue instead of deadlocking.
    .orderBy(asc(memberships.id))
    .for('update')
    .then((r) => r.length);

export const insertMembership = (tx: Tx, row: typeof memberships.$inferInsert) =>
  tx
    .insert(memberships)
    .values(row)
    .returning()
    .then((r) => r[0]!);

export const setRole = (tx: Tx, id: string, role: OrgRole) =>
  tx
    .update(memberships)
    .set({ role })
    .where(eq(memberships.id, id))
    .returning()
    .then((r) => r[0] ?? null);

export const deleteMembership = (tx: Tx, id: string) => tx.delete(memberships).where(eq(memberships.id, id));
