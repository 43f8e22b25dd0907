import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { dashboardSessions, memberships, organizations, users } from '../../db/schema/index.ts';
import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { SESSION_COOKIE } from '../../http/auth/authenticate.ts';
import { hashSessionToken } from '../../http/auth/secrets.ts';
import { notFound } from '../../http/errors.ts';
import type { App } from '../../http/types.ts';
import { newId, randomToken } from '../../ids.ts';
import { recordAudit } from '../audit/recordAudit.ts';
import { SESSION_TTL_MS } from '../sessions/redeemLoginLink.ts';
import { sessionCookieOptions } from '../sessions/routes.ts';
import { DEMO_OPERATOR, DEMO_ORGS } from './seedDemo.ts';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Demo mode only (never registered in production): a page listing every demo user; one click
 * signs in as them, exactly as a host product's sign-in link would.
 */
export function registerDevSignInRoutes(app: App, deps: Deps) {
  app.get('/dev/sign-in', { schema: { hide: true } }, async (_request, reply) => {
    const rows = await withSystemTx(deps.database, (tx) =>
      tx
        .select({
          membershipId: memberships.id,
          role: memberships.role,
          org: organizations.name,
          name: users.name,
          email: users.email,
        })
        .from(memberships)
        .innerJoin(users, eq(users.id, memberships.userId))
        .innerJoin(organizations, eq(organizations.id, memberships.orgId))
        .orderBy(asc(organizations.name), asc(memberships.createdAt)),
    );
    const button = (value: string, label: string, sub: string) =>
      `<form method="post" action="/dev/sign-in"><input type="hidden" name="as" value="${esc(value)}"><button type="submit"><strong>${esc(label)}</strong><span>${esc(sub)}</span></button></form>`;
    const list = [
      button('operator', DEMO_OPERATOR.name, `platform operator · ${DEMO_OPERATOR.email}`),
      ...rows.map((r) =>
        button(
          r.membershipId,
          r.name ?? r.email ?? r.membershipId,
          `${r.org} · ${r.role} · ${r.email ?? ''}`,
        ),
      ),
    ].join('\n');
    return reply
      .type('text/html')
      .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tollgate demo sign-in</title>
<style>body{font-family:system-ui,sans-serif;max-width:560px;margin:48px auto;color:#111}h1{font-size:22px}p{color:#555}
form{margin:8px 0}button{width:100%;text-align:left;padding:12px 16px;border:1px solid #ddd;border-radius:8px;background:#fff;cursor:pointer;display:flex;flex-direction:column;gap:2px}
button:hover{border-color:#6366f1}span{color:#666;font-size:13px}</style></head>
<body><h1>Tollgate demo — sign in as</h1><p>Demo mode only. In production, users arrive through a sign-in link minted by the host product.</p>${list}</body></html>`);
  });

  app.post(
    '/dev/sign-in',
    { schema: { hide: true, body: z.object({ as: z.string().min(1).max(60) }) } },
    async (request, reply) => {
      const as = request.body.as;
      const cookieToken = randomToken(43);
      await withSystemTx(deps.database, async (tx) => {
        let orgId: string;
        let userId: string;
        if (as === 'operator') {
          orgId = DEMO_ORGS[0].id;
          userId = DEMO_OPERATOR.id;
        } else {
          const m = await tx
            .select()
            .from(memberships)
            .where(eq(memberships.id, as))
            .then((r) => r[0]);
          if (!m) throw notFound('member');
          orgId = m.orgId;
          userId = m.userId;
        }
        const now = deps.clock.now();
        const id = newId('dashboardSession');
        await tx.insert(dashboardSessions).values({
          id,
          orgId,
          userId,
          loginExpiresAt: now,
          sessionHash: hashSessionToken(deps.env.sessionSecret, cookieToken),
          csrfToken: randomToken(32),
          redeemedAt: now,
          expiresAt: new Date(now.getTime() + SESSION_TTL_MS),
        });
        await recordAudit(
          tx,
          { actor: { type: 'user', id: userId }, requestId: request.id },
          {
            orgId,
            action: 'dashboard_session.signed_in',
            targetType: 'user',
            targetId: userId,
            after: { via: 'dev-sign-in' },
          },
        );
      });
      reply.setCookie(SESSION_COOKIE, cookieToken, sessionCookieOptions(deps));
      return reply.redirect('/', 303);
    },
  );
}
