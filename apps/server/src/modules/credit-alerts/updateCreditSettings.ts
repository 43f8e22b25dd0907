import { creditSettings } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { type FieldIssue, validationFailed } from '../../http/errors.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { listCreditProducts } from '../catalog/listCreditProducts.ts';
import { findCreditSettings, presentCreditSettings } from './getCreditSettings.ts';
import { invalidateAlertSettings } from './settingsCache.ts';

export interface CreditSettingsInput {
  low_balance: { threshold: number | null; percent: number | null };
  unusual_usage: { enabled: boolean; factor: number };
  auto_top_up: { enabled: boolean; threshold: number | null; pack: string | null };
}

/**
 * Replaces the org's settings. Saving re-arms the low-balance alert: the next fall below the
 * (possibly new) threshold alerts again. An in-flight top-up is left alone (it completes).
 */
export async function updateCreditSettings(
  deps: Pick<Deps, 'database' | 'clock'>,
  audit: AuditContext,
  orgId: string,
  input: CreditSettingsInput,
) {
  const issues: FieldIssue[] = [];
  if (input.low_balance.threshold !== null && input.low_balance.percent !== null)
    issues.push({
      field: 'low_balance.percent',
      message: 'give either threshold (credits) or percent (of the period allocation), not both',
      in: 'body',
    });
  const top = input.auto_top_up;
  if (top.pack !== null) {
    const { packs } = await listCreditProducts(deps);
    if (!packs.some((p) => p.key === top.pack))
      issues.push({ field: 'auto_top_up.pack', message: `unknown credit pack "${top.pack}"`, in: 'body' });
  }
  if (top.enabled && top.threshold === null)
    issues.push({
      field: 'auto_top_up.threshold',
      message: 'required when auto top-up is enabled',
      in: 'body',
    });
  if (top.enabled && top.pack === null)
    issues.push({ field: 'auto_top_up.pack', message: 'required when auto top-up is enabled', in: 'body' });
  if (issues.length) throw validationFailed(issues);

  const now = deps.clock.now();
  const values = {
    lowBalanceThreshold: input.low_balance.threshold,
    lowBalancePercent: input.low_balance.percent,
    lowBalanceAlerted: false,
    unusualUsageFactor: input.unusual_usage.enabled ? input.unusual_usage.factor : null,
    autoTopUpEnabled: top.enabled,
    autoTopUpThreshold: top.threshold,
    autoTopUpPack: top.pack,
    updatedAt: now,
  };
  const saved = await withOrgTx(deps.database, orgId, async (tx) => {
    const before = await findCreditSettings(tx, orgId);
    const [row] = await tx
      .insert(creditSettings)
      .values({ orgId, ...values })
      .onConflictDoUpdate({ target: creditSettings.orgId, set: values })
      .returning();
    await recordAudit(tx, audit, {
      orgId,
      action: 'credits.settings_updated',
      targetType: 'credit_settings',
      targetId: orgId,
      before: before ? presentCreditSettings(before) : null,
      after: presentCreditSettings(row!),
    });
    return row!;
  });
  invalidateAlertSettings(deps.database, orgId);
  return presentCreditSettings(saved);
}
