import { and, eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { meteredUsage } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError, validationFailed } from '../../http/errors.ts';
import { randomToken } from '../../ids.ts';
import { CREDIT_OVERAGE_KEY } from '../catalog/catalogSchema.ts';
import { currentSubscription } from '../subscriptions/currentSubscription.ts';
import { meteredProducts, usageIdentifier } from './meteredProducts.ts';
import { kickUsageReport } from './reportUsageTask.ts';

export interface UsageInput {
  addon: string;
  quantity: number;
  idempotency_key: string;
  occurred_at?: string | undefined;
  metadata?: Record<string, string> | undefined;
}

type UsageRow = typeof meteredUsage.$inferSelect;

const DAY = 86_400_000;

export const presentUsage = (r: UsageRow, replayed: boolean) => ({
  id: r.id,
  addon: r.addonKey,
  quantity: r.quantity,
  occurred_at: r.occurredAt.toISOString(),
  replayed,
});

const findByKey = (tx: Tx, orgId: string, key: string) =>
  tx
    .select()
    .from(meteredUsage)
    .where(and(eq(meteredUsage.orgId, orgId), eq(meteredUsage.idempotencyKey, key)))
    .then((r) => r[0] ?? null);

/**
 * Records usage of a metered add-on; reported to Stripe by the batched reporter job. Idempotent
 * by key: a replay returns the first record (`replayed: true`); the same key with a different
 * add-on or quantity is a 409. Refused (409) without a paid monthly subscription, since Stripe
 * bills metered prices only as items of the org's subscription.
 */
export async function recordUsage(
  deps: Pick<Deps, 'database' | 'clock' | 'logger'>,
  orgId: string,
  input: UsageInput,
) {
  const products = await meteredProducts(deps);
  const product = input.addon === CREDIT_OVERAGE_KEY ? undefined : products.get(input.addon);
  if (!product)
    throw validationFailed([
      {
        field: 'addon',
        message:
          input.addon === CREDIT_OVERAGE_KEY
            ? 'credit overage is recorded by the credits ledger, not reported directly'
            : `unknown metered add-on "${input.addon}"`,
        in: 'body',
      },
    ]);
  const now = deps.clock.now();
  const occurredAt = input.occurred_at ? new Date(input.occurred_at) : now;
  // Stripe accepts meter events up to 35 days old and 5 minutes ahead; keep a margin for retries.
  if (occurredAt.getTime() < now.getTime() - 30 * DAY || occurredAt.getTime() > now.getTime() + 60_000)
    throw validationFailed([
      { field: 'occurred_at', message: 'must be within the last 30 days and not in the future', in: 'body' },
    ]);
  // Checked before the insert: a subscription ending meanwhile still gets this usage reported
  // (Stripe bills it on the final invoice) — the same as usage just before the end.
  const sub = await currentSubscription(deps, orgId);
  const usage = await withOrgTx(deps.database, orgId, async (tx) => {
    const replay = (row: UsageRow) => {
      if (row.addonKey !== input.addon || row.quantity !== input.quantity)
        throw new DomainError('idempotency_conflict', 'idempotency_key was used for different usage', {
          field: 'idempotency_key',
        });
      return presentUsage(row, true);
    };
    const existing = await findByKey(tx, orgId, input.idempotency_key);
    if (existing) return replay(existing);
    if (!sub || !['active', 'trialing', 'past_due'].includes(sub.status))
      throw new DomainError(
        'conflict',
        'metered add-ons need a paid subscription: subscribe to a plan first',
        {
          field: 'addon',
        },
      );
    if (sub.interval !== product.interval)
      throw new DomainError(
        'conflict',
        `metered add-ons are billed ${product.interval}ly; the subscription renews ${sub.interval}ly`,
        { field: 'addon' },
      );
    const [row] = await tx
      .insert(meteredUsage)
      .values({
        id: `mu_${randomToken(20)}`,
        orgId,
        addonKey: product.key,
        meterEventName: product.meter_event_name,
        quantity: input.quantity,
        idempotencyKey: input.idempotency_key,
        identifier: usageIdentifier(orgId, input.idempotency_key),
        occurredAt,
        nextReportAt: now,
        metadata: input.metadata ?? {},
      })
      .onConflictDoNothing()
      .returning();
    if (!row) {
      // A concurrent request with the same key won the insert.
      const winner = await findByKey(tx, orgId, input.idempotency_key);
      if (!winner) throw new DomainError('conflict', 'usage could not be recorded; retry');
      return replay(winner);
    }
    return presentUsage(row, false);
  });
  if (!usage.replayed)
    await kickUsageReport(deps).catch((err) => deps.logger.warn({ err }, 'usage report kick failed'));
  return usage;
}
