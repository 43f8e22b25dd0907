import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOperator, requireOrg } from '../../http/auth/orgAccess.ts';
import { authErrors, orgIdParam } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { createApiKey } from './createApiKey.ts';
import { listApiKeys } from './listApiKeys.ts';
import { revokeApiKey } from './revokeApiKey.ts';

const apiKeyView = z
  .object({
    id: z.string(),
    name: z.string(),
    scope: z.enum(['org', 'platform']),
    org_id: z.string().nullable(),
    prefix: z.string(),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' });
const createdKeyView = apiKeyView.extend({ secret: z.string() }).meta({ id: 'CreatedApiKey' });
const createBody = z.object({ name: z.string().trim().min(1).max(100) }).strict();
const keyId = z.string().regex(/^key_/, 'must be an API key id (key_...)');

export function registerApiKeyRoutes(app: App, deps: Deps) {
  app.get(
    '/v1/orgs/:org/api-keys',
    {
      schema: {
        tags: ['api-keys'],
        summary: "List the org's secret keys (prefix only)",
        params: z.object({ org: orgIdParam }),
        response: { 200: z.object({ data: z.array(apiKeyView) }), ...authErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      return { data: await listApiKeys(deps, ctx.orgId) };
    },
  );

  app.post(
    '/v1/orgs/:org/api-keys',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'Create a secret key for the host backend; the secret is shown once',
        params: z.object({ org: orgIdParam }),
        body: createBody,
        response: { 201: createdKeyView, ...authErrors },
      },
    },
    async (request, reply) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      return reply.code(201).send(await createApiKey(deps, ctx.audit, ctx.orgId, request.body.name));
    },
  );

  app.delete(
    '/v1/orgs/:org/api-keys/:key',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'Revoke a secret key',
        params: z.object({ org: orgIdParam, key: keyId }),
        response: { 200: apiKeyView, ...authErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      return revokeApiKey(deps, ctx.audit, ctx.orgId, request.params.key);
    },
  );

  app.get(
    '/v1/admin/api-keys',
    {
      schema: {
        tags: ['admin'],
        summary: 'List platform (operator) keys',
        response: { 200: z.object({ data: z.array(apiKeyView) }), ...authErrors },
      },
    },
    async (request) => {
      await requireOperator(deps, request);
      return { data: await listApiKeys(deps, null) };
    },
  );

  app.post(
    '/v1/admin/api-keys',
    {
      schema: {
        tags: ['admin'],
        summary: 'Create a platform (operator) key',
        body: createBody,
        response: { 201: createdKeyView, ...authErrors },
      },
    },
    async (request, reply) => {
      const { audit } = await requireOperator(deps, request);
      return reply.code(201).send(await createApiKey(deps, audit, null, request.body.name));
    },
  );

  app.delete(
    '/v1/admin/api-keys/:key',
    {
      schema: {
        tags: ['admin'],
        summary: 'Revoke a platform key',
        params: z.object({ key: keyId }),
        response: { 200: apiKeyView, ...authErrors },
      },
    },
    async (request) => {
      const { audit } = await requireOperator(deps, request);
      return revokeApiKey(deps, audit, null, request.params.key);
    },
  );
}
