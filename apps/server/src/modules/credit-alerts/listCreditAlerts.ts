import { and, desc, eq, lt, or } from 'drizzle-orm';
import { creditAlerts } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';

export type CreditAlertRow = typeof creditAlerts.$inferSelect;

export const presentCreditAlert = (r: CreditAlertRow) => ({
  id: r.id,
  kind: r.kind,
  data: r.data,
  created_at: r.createdAt.toISOString(),
});

/** The org's alerts, newest first; `starting_after` an alert id for the next page. */
export async function listCreditAlerts(
  deps: Pick<Deps, 'database'>,
  orgId: string,
  page: { limit: number; startingAfter?: string | undefined },
) {
  return withOrgTx(deps.database, orgId, async (tx) => {
    let cursor: CreditAlertRow | undefined;
    if (page.startingAfter)
      [cursor] = await tx
        .select()
        .from(creditAlerts)
        .where(and(eq(creditAlerts.orgId, orgId), eq(creditAlerts.id, page.startingAfter)));
    const rows = await tx
      .select()
      .from(creditAlerts)
      .where(
        and(
          eq(creditAlerts.orgId, orgId),
          cursor
            ? or(
                lt(creditAlerts.createdAt, cursor.createdAt),
                and(eq(creditAlerts.createdAt, cursor.createdAt), lt(creditAlerts.id, cursor.id)),
              )
            : undefined,
        ),
      )
      .orderBy(desc(creditAlerts.createdAt), desc(creditAlerts.id))
      .limit(page.limit + 1);
    return { data: rows.slice(0, page.limit).map(presentCreditAlert), has_more: rows.length > page.limit };
  });
}
