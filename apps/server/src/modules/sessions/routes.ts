import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { CSRF_HEADER, requirePrincipal, SESSION_COOKIE } from '../../http/auth/authenticate.ts';
import { requireOrg } from '../../http/auth/orgAccess.ts';
import { isPlatformOperator } from '../../http/auth/principal.ts';
import { forbidden } from '../../http/errors.ts';
import { authErrors, orgIdParam, roleSchema } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { memberRefFields, refineMemberRef, toMemberRef } from '../members/memberRefSchema.ts';
import { createDashboardSession } from './createDashboardSession.ts';
import { redeemLoginLink, SESSION_TTL_MS } from './redeemLoginLink.ts';
import { signOut } from './signOut.ts';

export function sessionCookieOptions(deps: Deps) {
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: deps.env.publicUrl.startsWith('https://'),
    path: '/',
    maxAge: SESSION_TTL_MS / 1000,
  };
}

export function registerSessionRoutes(app: App, deps: Deps) {
  app.post(
    '/v1/orgs/:org/dashboard-sessions',
    {
      schema: {
        tags: ['auth'],
        summary: 'Mint a one-time dashboard sign-in URL for a user (host backend secret key)',
        description:
          'The URL signs the user into the dashboard once, within 5 minutes. A user who is not a member yet is added when `role` is given.',
        params: z.object({ org: orgIdParam }),
        body: z
          .object({ ...memberRefFields, role: roleSchema.optional() })
          .strict()
          .superRefine(refineMemberRef),
        response: {
          201: z.object({ id: z.string(), user_id: z.string(), url: z.string(), expires_at: z.string() }),
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'admin');
      // Minting sign-in links for other people is impersonation: only secret keys may do it.
      if (ctx.principal.kind === 'user')
        throw forbidden('dashboard sessions are minted with a secret API key');
      const s = await createDashboardSession(
        deps,
        ctx.audit,
        ctx.orgId,
        toMemberRef(request.body),
        request.body.role,
      );
      return reply.code(201).send(s);
    },
  );

  app.get(
    '/auth/dashboard',
    {
      schema: {
        tags: ['auth'],
        summary: 'Redeem a sign-in link: sets the session cookie and redirects to the dashboard',
        querystring: z.object({ token: z.string().min(20).max(100) }).strict(),
      },
    },
    async (request, reply) => {
      const { cookieToken } = await redeemLoginLink(deps, request.query.token, request.id);
      reply.setCookie(SESSION_COOKIE, cookieToken, sessionCookieOptions(deps));
      return reply.redirect('/', 303);
    },
  );

  app.get(
    '/v1/me',
    {
      schema: {
        tags: ['auth'],
        summary: 'Who am I: principal, org, role and the CSRF token for cookie sessions',
        response: {
          200: z.object({
            kind: z.enum(['api_key', 'platform_key', 'user']),
            user_id: z.string().nullable(),
            email: z.string().nullable(),
            org_id: z.string().nullable(),
            role: z.string().nullable(),
            platform_operator: z.boolean(),
            csrf_token: z.string().nullable(),
          }),
          ...authErrors,
        },
      },
    },
    async (request) => {
      const p = await requirePrincipal(deps, request);
      return {
        kind: p.kind,
        user_id: p.kind === 'user' ? p.userId : null,
        email: p.kind === 'user' ? p.email : null,
        org_id: p.kind === 'api_key' ? p.orgId : p.kind === 'user' ? (p.claimOrg?.ref ?? null) : null,
        role: p.kind === 'api_key' ? 'owner' : p.kind === 'user' ? (p.claimOrg?.role ?? null) : null,
        platform_operator: isPlatformOperator(p),
        csrf_token: p.kind === 'user' ? (p.csrfToken ?? null) : null,
      };
    },
  );

  app.post(
    '/v1/session/sign-out',
    {
      schema: {
        tags: ['auth'],
        summary: `End the dashboard session (cookie + ${CSRF_HEADER})`,
        response: { 204: z.null(), ...authErrors },
      },
    },
    async (request, reply) => {
      const p = await requirePrincipal(deps, request);
      if (p.kind === 'user' && p.sessionId) await signOut(deps, p.sessionId);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );
}
