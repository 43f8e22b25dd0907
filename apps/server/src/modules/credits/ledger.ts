import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { randomToken } from '../../ids.ts';
import type { BalanceChange } from '../credit-alerts/afterBalanceChange.ts';

/**
 * Thin wrappers over the ledger's SQL functions (migration 0006_credits.sql). Each is one round
 * trip that locks the org's credit account, so it joins any transaction (withOrgTx or
 * withSystemTx) and serialises with every other change of that org's credits.
 */

export type GrantSource = 'subscription' | 'pack' | 'promotional' | 'manual';

export interface GrantInput {
  orgId: string;
  source: GrantSource;
  amount: number;
  expiresAt: Date | null;
  /** Unique per cause: a second grant with the same key grants nothing. */
  causeKey: string;
  sourceRef?: string | null;
  packKey?: string | null;
  reason?: string | null;
  metadata?: Record<string, string>;
}

export const newGrantId = () => `cgr_${randomToken(20)}`;
export const newConsumptionId = () => `ccn_${randomToken(20)}`;

async function one<T>(tx: Tx, query: ReturnType<typeof sql>): Promise<T> {
  const res = (await tx.execute(query)) as unknown as { rows: { r: T }[] };
  return res.rows[0]!.r;
}

const change = (orgId: string, r: { before: number; after: number }, at: Date): BalanceChange | null =>
  r.before === r.after ? null : { orgId, before: r.before, after: r.after, consumed: 0, at };

/** Grants once per cause. Returns whether it granted, and the balance change (null if none). */
export async function grantCredits(
  tx: Tx,
  input: GrantInput,
  now: Date,
): Promise<{ granted: boolean; grantId: string | null; change: BalanceChange | null }> {
  if (!Number.isInteger(input.amount) || input.amount <= 0) throw new RangeError('grant amount must be > 0');
  const id = newGrantId();
  const r = await one<{ granted: boolean; before: number; after: number }>(
    tx,
    sql`SELECT tollgate_credit_grant(${input.orgId}, ${id}, ${input.source}, ${input.amount}::int,
      ${input.expiresAt?.toISOString() ?? null}::timestamptz, ${input.causeKey}, ${input.sourceRef ?? null},
      ${input.packKey ?? null}, ${input.reason ?? null}, ${JSON.stringify(input.metadata ?? {})}::jsonb,
      ${now.toISOString()}::timestamptz) AS r`,
  );
  return { granted: r.granted, grantId: r.granted ? id : null, change: change(input.orgId, r, now) };
}

/** Revokes what remains of a grant (once; a revoked grant stays revoked). */
export async function revokeGrant(tx: Tx, orgId: string, grantId: string, reason: string, now: Date) {
  const r = await one<{ revoked: number; before: number; after: number }>(
    tx,
    sql`SELECT tollgate_credit_revoke(${orgId}, ${grantId}, ${reason}, ${now.toISOString()}::timestamptz) AS r`,
  );
  return { revoked: r.revoked, change: change(orgId, r, now) };
}

/** Writes 'expire' entries for the org's grants whose expiry has passed. */
export async function expireOrgCredits(tx: Tx, orgId: string, now: Date) {
  const r = await one<{ before: number; after: number }>(
    tx,
    sql`SELECT tollgate_credit_expire(${orgId}, ${now.toISOString()}::timestamptz) AS r`,
  );
  return change(orgId, r, now);
}
