import { and, asc, eq, gt, ilike, or } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { organizations } from '../../db/schema/index.ts';

export type OrgRow = typeof organizations.$inferSelect;

export const insertOrg = (tx: Tx, row: typeof organizations.$inferInsert) =>
  tx
    .insert(organizations)
    .values(row)
    .returning()
    .then((r) => r[0]!);

export const findOrg = (tx: Tx, id: string) =>
  tx
    .select()
    .from(organizations)
    .where(eq(organizations.id, id))
    .limit(1)
    .then((r) => r[0] ?? null);

export const findOrgByRef = (tx: Tx, ref: string) =>
  tx
    .select()
    .from(organizations)
    .where(or(eq(organizations.id, ref), eq(organizations.externalId, ref)))
    .limit(1)
    .then((r) => r[0] ?? null);

export const updateOrgRow = (tx: Tx, id: string, patch: Partial<typeof organizations.$inferInsert>) =>
  tx
    .update(organizations)
    .set(patch)
    .where(eq(organizations.id, id))
    .returning()
    .then((r) => r[0] ?? null);

export const listOrgRows = (
  tx: Tx,
  opts: { after?: string | undefined; limit: number; q?: string | undefined },
) =>
  tx
    .select()
    .from(organizations)
    .where(
      // Search and cursor combine, so a search's later pages are reachable.
      and(
        opts.q
          ? or(
              ilike(organizations.name, `%${opts.q.replace(/[%_\\]/g, '\\$&')}%`),
              eq(organizations.id, opts.q),
            )
          : undefined,
        opts.after ? gt(organizations.id, opts.after) : undefined,
      ),
    )
    .orderBy(asc(organizations.id))
    .limit(opts.limit + 1);
