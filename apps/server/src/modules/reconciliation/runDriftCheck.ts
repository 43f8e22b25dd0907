import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { subscriptions } from '../../db/schema/index.ts';
import { withOrgTx, withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { recordAudit, systemAudit } from '../audit/recordAudit.ts';
import { publishOrgChange } from '../live/publishOrgChange.ts';
import { emitOutgoing } from '../outgoing-webhooks/emitOutgoing.ts';
import type { SyncDifference } from './diffProjection.ts';
import { countHealed } from './metrics.ts';
import { listLinkedOrgs } from './repo.ts';
import { type OrgSyncSummary, type SyncDeps, syncOrgFromStripe } from './syncOrgFromStripe.ts';

export interface DriftCheckResult {
  orgs: number;
  healed: number;
  summaries: OrgSyncSummary[];
  /** Orgs whose sync failed (Stripe down, ...); the next run tries again. */
  failed: { orgId: string; error: string }[];
}

/**
 * The drift check: syncs every org that has a Stripe customer, which heals whatever the
 * projection missed (events that never arrived), and records each healed difference as an
 * audit entry (`reconcile.healed`, actor system) and in tollgate_reconcile_healed_total{kind}.
 * One org failing does not stop the others. A webhook applied between the before and after
 * reads of an org is reported as healed too: harmless, and rare at the check's interval.
 */
export async function runDriftCheck(
  deps: SyncDeps & Pick<Deps, 'logger'>,
  /** A job's signal: stop between orgs when the worker stops or loses the job. */
  signal?: AbortSignal,
) {
  const orgs = await withSystemTx(deps.database, (tx) => listLinkedOrgs(tx));
  const result: DriftCheckResult = { orgs: orgs.length, healed: 0, summaries: [], failed: [] };
  for (const { id } of orgs) {
    signal?.throwIfAborted();
    let summary: OrgSyncSummary;
    try {
      summary = await syncOrgFromStripe(deps, id);
    } catch (err) {
      deps.logger.warn({ err, orgId: id }, 'drift check: org sync failed');
      result.failed.push({ orgId: id, error: String((err as Error).message ?? err) });
      continue;
    }
    result.summaries.push(summary);
    if (!summary.differences.length) continue;
    const audit = systemAudit();
    await withOrgTx(deps.database, id, async (tx) => {
      for (const d of summary.differences) {
        await recordAudit(tx, audit, {
          orgId: id,
          action: 'reconcile.healed',
          targetType: d.kind,
          targetId: d.id,
          before: d.before,
          // Field-level kinds carry only the changed fields; a null side means added / removed.
          after: d.after,
        });
        await announce(tx, id, d);
      }
    });
    for (const d of summary.differences) countHealed(d.kind);
    result.healed += summary.differences.length;
    deps.logger.info(
      { orgId: id, healed: summary.differences.map((d) => `${d.kind}:${d.id}:${d.change}`) },
      'drift check healed the projection',
    );
  }
  return result;
}

/**
 * A missed Stripe event also means a missed live update and, for subscriptions, a missed
 * outgoing `subscription.updated`: sent now, in the transaction that records the heal. The
 * cause key is the healed difference itself (subscription + before/after), so a retried run
 * that heals the same difference emits once.
 */
async function announce(tx: Tx, orgId: string, d: SyncDifference) {
  if (d.kind !== 'subscription') {
    await publishOrgChange(tx, orgId, { type: `${d.kind}.updated`, id: d.id, data: { source: 'reconcile' } });
    return;
  }
  const [sub] = await tx.select().from(subscriptions).where(eq(subscriptions.id, d.id));
  if (!sub) return;
  const data = {
    subscription: sub.id,
    status: sub.status,
    cancel_at_period_end: sub.cancelAtPeriodEnd,
    price: sub.priceId,
  };
  await publishOrgChange(tx, orgId, { type: 'subscription.updated', id: sub.id, data });
  const digest = createHash('sha256')
    .update(JSON.stringify([d.before, d.after]))
    .digest('hex')
    .slice(0, 24);
  await emitOutgoing(tx, {
    orgId,
    type: 'subscription.updated',
    causeKey: `reconcile:${sub.id}:${digest}`,
    data: { ...data, source: 'reconcile' },
  });
}
