import { and, desc, eq, gte, lt, lte, type SQL } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { auditLog } from '../../db/schema/index.ts';

export interface AuditFilter {
  orgId?: string | undefined;
  action?: string | undefined;
  actorType?: string | undefined;
  actorId?: string | undefined;
  targetId?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** Cursor: entries with id below this (newest first). */
  before?: number | undefined;
  limit: number;
}

/** Newest first, keyset-paginated by id. RLS already limits org users to their own org. */
export async function listAuditLog(tx: Tx, f: AuditFilter) {
  const where: SQL[] = [];
  if (f.orgId) where.push(eq(auditLog.orgId, f.orgId));
  if (f.action) where.push(eq(auditLog.action, f.action));
  if (f.actorType) where.push(eq(auditLog.actorType, f.actorType as never));
  if (f.actorId) where.push(eq(auditLog.actorId, f.actorId));
  if (f.targetId) where.push(eq(auditLog.targetId, f.targetId));
  if (f.since) where.push(gte(auditLog.createdAt, f.since));
  if (f.until) where.push(lte(auditLog.createdAt, f.until));
  if (f.before) where.push(lt(auditLog.id, f.before));
  const rows = await tx
    .select()
    .from(auditLog)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(f.limit + 1);
  const hasMore = rows.length > f.limit;
  const data = rows.slice(0, f.limit);
  return { data, hasMore, nextCursor: hasMore ? data[data.length - 1]!.id : null };
}
