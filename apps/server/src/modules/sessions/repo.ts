import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { dashboardSessions, memberships, users } from '../../db/schema/index.ts';

export const insertSession = (tx: Tx, row: typeof dashboardSessions.$inferInsert) =>
  tx
    .insert(dashboardSessions)
    .values(row)
    .returning()
    .then((r) => r[0]!);

/** Atomic: of two concurrent redemptions of one link, exactly one gets the row. */
export const redeem = (tx: Tx, loginHash: string, sessionHash: string, now: Date, expiresAt: Date) =>
  tx
    .update(dashboardSessions)
    .set({ loginTokenHash: null, sessionHash, redeemedAt: now, expiresAt })
    .where(
      and(
        eq(dashboardSessions.loginTokenHash, loginHash),
        isNull(dashboardSessions.redeemedAt),
        isNull(dashboardSessions.revokedAt),
        gt(dashboardSessions.loginExpiresAt, now),
      ),
    )
    .returning()
    .then((r) => r[0] ?? null);

export const findLiveSession = (tx: Tx, sessionHash: string, now: Date) =>
  tx
    .select({ session: dashboardSessions, user: users, role: memberships.role })
    .from(dashboardSessions)
    .innerJoin(users, eq(users.id, dashboardSessions.userId))
    .leftJoin(
      memberships,
      and(eq(memberships.orgId, dashboardSessions.orgId), eq(memberships.userId, dashboardSessions.userId)),
    )
    .where(
      and(
        eq(dashboardSessions.sessionHash, sessionHash),
        isNull(dashboardSessions.revokedAt),
        gt(dashboardSessions.expiresAt, now),
      ),
    )
    .limit(1)
    .then((r) => r[0] ?? null);

export const revokeSession = (tx: Tx, id: string, now: Date) =>
  tx.update(dashboardSessions).set({ revokedAt: now }).where(eq(dashboardSessions.id, id));
