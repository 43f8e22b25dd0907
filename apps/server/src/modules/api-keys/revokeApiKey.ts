import { withOrgTx, withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { notFound } from '../../http/errors.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { presentApiKey } from './presentApiKey.ts';
import { findById, markRevoked } from './repo.ts';

/** Revoking twice is harmless; the second call returns the already-revoked key. */
export async function revokeApiKey(
  deps: Pick<Deps, 'database' | 'clock' | 'apiKeyCache'>,
  audit: AuditContext,
  orgId: string | null,
  keyId: string,
) {
  const run = async (tx: Parameters<Parameters<typeof withSystemTx>[1]>[0]) => {
    const key = await findById(tx, keyId);
    // A platform key is invisible to org routes, and an org key to the platform list: both 404.
    if (!key || key.orgId !== orgId) throw notFound('api key');
    const revoked = (await markRevoked(tx, keyId, deps.clock.now())) ?? key;
    deps.apiKeyCache.entries.delete(key.hash);
    const view = presentApiKey(revoked);
    if (!key.revokedAt)
      await recordAudit(tx, audit, {
        orgId,
        action: 'api_key.revoked',
        targetType: 'api_key',
        targetId: keyId,
        after: view,
      });
    return view;
  };
  return orgId ? withOrgTx(deps.database, orgId, run) : withSystemTx(deps.database, run);
}
