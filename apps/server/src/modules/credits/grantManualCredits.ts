import { eq } from 'drizzle-orm';
import { organizations } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { notFound } from '../../http/errors.ts';
import { randomToken } from '../../ids.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { creditRules } from './creditRules.ts';
import { ensureFreeAllocation } from './ensureFreeAllocation.ts';
import { grantCredits } from './ledger.ts';
import { notifyBalanceChanges } from './notifyBalanceChanges.ts';
import { findAccount } from './repo.ts';

export interface ManualGrantInput {
  credits: number;
  reason: string;
  source: 'manual' | 'promotional';
  expiresAt: Date | null;
  /** Optional: retrying with the same key grants once. */
  idempotencyKey?: string | undefined;
}

/** A platform operator's grant (goodwill, promotion), audited with the operator as actor. */
export async function grantManualCredits(
  deps: Deps,
  audit: AuditContext,
  orgId: string,
  input: ManualGrantInput,
) {
  // Their first credit interaction this month: the free allocation comes first, as on a read.
  const exists = await withOrgTx(deps.database, orgId, (tx) =>
    tx.select({ id: organizations.id }).from(organizations).where(eq(organizations.id, orgId)),
  );
  if (!exists.length) throw notFound('org');
  await ensureFreeAllocation(deps, orgId, await creditRules(deps));
  const now = deps.clock.now();
  const causeKey = `credits.${input.source}:${orgId}:${input.idempotencyKey ?? randomToken(20)}`;
  const result = await withOrgTx(deps.database, orgId, async (tx) => {
    const [org] = await tx
      .select({ id: organizations.id })
      .from(organizations)
      .where(eq(organizations.id, orgId));
    if (!org) throw notFound('org');
    const r = await grantCredits(
      tx,
      {
        orgId,
        source: input.source,
        amount: input.credits,
        expiresAt: input.expiresAt,
        causeKey,
        sourceRef: audit.actor.id ? `${audit.actor.type}:${audit.actor.id}` : audit.actor.type,
        reason: input.reason,
      },
      now,
    );
    if (r.granted)
      await recordAudit(tx, audit, {
        orgId,
        action: 'credits.granted',
        targetType: 'credit_grant',
        targetId: r.grantId ?? undefined,
        after: {
          credits: input.credits,
          source: input.source,
          reason: input.reason,
          expires_at: input.expiresAt?.toISOString() ?? null,
        },
      });
    const account = await findAccount(tx, orgId);
    return { ...r, balance: account?.balance ?? 0 };
  });
  await notifyBalanceChanges(deps, [result.change]);
  return { granted: result.granted, grant_id: result.grantId, balance: result.balance };
}
