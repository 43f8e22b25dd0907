import type { Tx } from '../../db/client.ts';
import { auditLog } from '../../db/schema/index.ts';
import type { Actor } from '../../http/auth/principal.ts';

/** Who did it and under which request; every mutating use-case receives one. */
export interface AuditContext {
  actor: Actor;
  requestId: string | null;
}

export const systemAudit = (requestId: string | null = null): AuditContext => ({
  actor: { type: 'system', id: null },
  requestId,
});

export interface AuditEntry {
  orgId: string | null;
  action: string;
  targetType?: string;
  targetId?: string;
  before?: unknown;
  after?: unknown;
}

/**
 * Appends one audit entry in the caller's transaction, so the entry exists if and only if the
 * change it describes was committed.
 */
export async function recordAudit(tx: Tx, ctx: AuditContext, entry: AuditEntry): Promise<void> {
  await tx.insert(auditLog).values({
    orgId: entry.orgId,
    actorType: ctx.actor.type,
    actorId: ctx.actor.id,
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    before: entry.before ?? null,
    after: entry.after ?? null,
    requestId: ctx.requestId,
  });
}
