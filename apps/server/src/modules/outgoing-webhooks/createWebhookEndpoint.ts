import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError, validationFailed } from '../../http/errors.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';
import { getOrg } from '../orgs/getOrg.ts';
import { newEndpointId, newEndpointSecret } from './ids.ts';
import { presentEndpoint } from './present.ts';
import { insertEndpoint } from './repo.ts';

export interface NewWebhookEndpoint {
  url: string;
  events: string[];
  orgId?: string | undefined;
  description?: string | undefined;
}

/** Registers where the host product hears events; the signing secret is returned once, here. */
export async function createWebhookEndpoint(
  deps: Pick<Deps, 'database' | 'clock'>,
  audit: AuditContext,
  input: NewWebhookEndpoint,
) {
  if (input.orgId) {
    await getOrg(deps, input.orgId).catch((err) => {
      if (err instanceof DomainError && err.code === 'not_found')
        throw validationFailed([{ field: 'org_id', message: 'no such org', in: 'body' }]);
      throw err;
    });
  }
  const secret = newEndpointSecret();
  return withSystemTx(deps.database, async (tx) => {
    const row = await insertEndpoint(tx, {
      id: newEndpointId(),
      url: input.url,
      secret,
      events: [...new Set(input.events)],
      orgId: input.orgId ?? null,
      description: input.description ?? null,
      createdAt: deps.clock.now(),
    });
    const view = presentEndpoint(row);
    await recordAudit(tx, audit, {
      orgId: null,
      action: 'webhook_endpoint.created',
      targetType: 'webhook_endpoint',
      targetId: row.id,
      after: view,
    });
    return { ...view, secret };
  });
}
