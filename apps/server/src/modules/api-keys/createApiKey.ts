import { withOrgTx, withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { generateApiKey } from '../../http/auth/secrets.ts';
import { newId } from '../../ids.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { presentApiKey } from './presentApiKey.ts';
import { insertKey } from './repo.ts';

/**
 * Creates a secret key for one org (`orgId`) or for the platform (`orgId` null). The secret is
 * returned once, here, and never again.
 */
export async function createApiKey(
  deps: Pick<Deps, 'database'>,
  audit: AuditContext,
  orgId: string | null,
  name: string,
) {
  const { secret, prefix, hash } = generateApiKey();
  const run = async (tx: Parameters<Parameters<typeof withSystemTx>[1]>[0]) => {
    const row = await insertKey(tx, {
      id: newId('apiKey'),
      orgId,
      scope: orgId ? 'org' : 'platform',
      name,
      prefix,
      hash,
      createdBy: audit.actor.id,
    });
    const view = presentApiKey(row);
    await recordAudit(tx, audit, {
      orgId,
      action: 'api_key.created',
      targetType: 'api_key',
      targetId: row.id,
      after: view,
    });
    return { ...view, secret };
  };
  return orgId ? withOrgTx(deps.database, orgId, run) : withSystemTx(deps.database, run);
}
