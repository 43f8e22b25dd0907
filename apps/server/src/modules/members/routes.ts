import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOrg } from '../../http/auth/orgAccess.ts';
import { authErrors, errorBody, orgIdParam, roleSchema } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { addMember } from './addMember.ts';
import { changeMemberRole, removeMember } from './changeMember.ts';
import { listMembers } from './listMembers.ts';
import { memberRefFields, memberView, refineMemberRef, toMemberRef } from './memberRefSchema.ts';

const memberParams = z.object({
  org: orgIdParam,
  member: z.string().regex(/^mem_/, 'must be a member id (mem_...)'),
});

export function registerMemberRoutes(app: App, deps: Deps) {
  app.get(
    '/v1/orgs/:org/members',
    {
      schema: {
        tags: ['members'],
        summary: 'List members and their roles',
        params: z.object({ org: orgIdParam }),
        response: { 200: z.object({ data: z.array(memberView) }), ...authErrors },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      return { data: await listMembers(deps, ctx.orgId) };
    },
  );

  app.post(
    '/v1/orgs/:org/members',
    {
      schema: {
        tags: ['members'],
        summary: 'Add a member (admin; only owners add owners)',
        params: z.object({ org: orgIdParam }),
        body: z
          .object({ ...memberRefFields, role: roleSchema })
          .strict()
          .superRefine(refineMemberRef),
        response: { 201: memberView, ...authErrors, 409: errorBody },
      },
    },
    async (request, reply) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      const m = await addMember(
        deps,
        ctx.audit,
        ctx.orgId,
        toMemberRef(request.body),
        request.body.role,
        ctx.role,
      );
      return reply.code(201).send(m);
    },
  );

  app.patch(
    '/v1/orgs/:org/members/:member',
    {
      schema: {
        tags: ['members'],
        summary: "Change a member's role (admin; only owners touch owners)",
        params: memberParams,
        body: z.object({ role: roleSchema }).strict(),
        response: { 200: memberView, ...authErrors, 409: errorBody },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      return changeMemberRole(deps, ctx.audit, ctx.orgId, request.params.member, request.body.role, ctx.role);
    },
  );

  app.delete(
    '/v1/orgs/:org/members/:member',
    {
      schema: {
        tags: ['members'],
        summary: 'Remove a member (admin; the last owner stays)',
        params: memberParams,
        response: { 204: z.null(), ...authErrors, 409: errorBody },
      },
    },
    async (request, reply) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      await removeMember(deps, ctx.audit, ctx.orgId, request.params.member, ctx.role);
      return reply.code(204).send(null);
    },
  );
}
