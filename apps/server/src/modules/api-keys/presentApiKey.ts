import type { ApiKeyRow } from './repo.ts';

export function presentApiKey(k: ApiKeyRow) {
  return {
    id: k.id,
    name: k.name,
    scope: k.scope,
    org_id: k.orgId,
    prefix: k.prefix,
    created_at: k.createdAt.toISOString(),
    last_used_at: k.lastUsedAt?.toISOString() ?? null,
    revoked_at: k.revokedAt?.toISOString() ?? null,
  };
}
