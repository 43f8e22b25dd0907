import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { validationFailed } from '../../http/errors.ts';
import { publishOrgChange } from '../live/publishOrgChange.ts';
import { checkEntitlement, entitlementInputs, unknownFeature } from './checkEntitlement.ts';
import type { Entitlement } from './decideEntitlement.ts';
import { kindOf } from './decideEntitlement.ts';
import { invalidateEntitlements } from './entitlementCache.ts';
import { upsertFeatureUsage } from './repo.ts';

/**
 * The host reports how much of a limit feature the org uses now (projects: 4, seats: 7). An
 * absolute value, not a delta, so a retried report is harmless. Not audited: it is telemetry
 * the host may send on every change. Every process's cache drops the org when it commits.
 */
export async function setFeatureUsage(
  deps: Deps,
  orgId: string,
  feature: string,
  usage: number,
): Promise<Entitlement> {
  const { catalog } = await entitlementInputs(deps, orgId);
  const kind = kindOf(catalog, feature);
  if (!kind) throw unknownFeature(feature);
  if (kind !== 'limit')
    throw validationFailed([
      {
        field: 'feature',
        in: 'path',
        message: `"${feature}" is a ${kind === 'boolean' ? 'boolean feature' : 'usage event'}; only limit features take a usage`,
      },
    ]);
  await withOrgTx(deps.database, orgId, async (tx) => {
    await upsertFeatureUsage(tx, orgId, feature, usage, deps.clock.now());
    await publishOrgChange(tx, orgId, {
      type: 'entitlements.usage_updated',
      id: feature,
      data: { feature, usage },
    });
  });
  // This process answers from the new value at once; the others when the notification arrives.
  invalidateEntitlements(deps, orgId);
  return checkEntitlement(deps, orgId, feature);
}
