import { eq } from 'drizzle-orm';
import { apiKeys, memberships, organizations, users } from '../../db/schema/index.ts';
import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { hashApiKey } from '../../http/auth/secrets.ts';
import { type AuditContext, recordAudit } from '../audit/recordAudit.ts';

/**
 * Demo data: a platform operator and two orgs with an owner, an admin and a member each.
 * Keys are fixed strings so a restarted demo prints the same keys; demo mode is refused in
 * production, so these can never guard real money.
 */
export const DEMO_ORGS = [
  { id: 'org_demoAcme000000000000', externalId: 'demo_acme', name: 'Acme', slug: 'acme' },
  { id: 'org_demoGlobex0000000000', externalId: 'demo_globex', name: 'Globex', slug: 'globex' },
] as const;

export const demoOrgKey = (slug: string) => `tg_sk_demo_${slug}_${'0'.repeat(32 - slug.length)}`;

const ROLES = ['owner', 'admin', 'member'] as const;
const FIRST_NAMES: Record<string, Record<(typeof ROLES)[number], string>> = {
  acme: { owner: 'Ada Owner', admin: 'Alan Admin', member: 'Mia Member' },
  globex: { owner: 'Grace Owner', admin: 'Gus Admin', member: 'Gail Member' },
};

export const DEMO_OPERATOR = {
  id: 'usr_demoOperator00000000',
  email: 'operator@tollgate.local',
  name: 'Olive Operator',
};

export async function seedDemo(deps: Pick<Deps, 'database'>): Promise<{ created: boolean }> {
  const audit: AuditContext = { actor: { type: 'system', id: 'demo-seed' }, requestId: null };
  return withSystemTx(deps.database, async (tx) => {
    const existing = await tx.select().from(organizations).where(eq(organizations.id, DEMO_ORGS[0].id));
    if (existing.length) return { created: false };
    await tx.insert(users).values({
      id: DEMO_OPERATOR.id,
      externalId: 'demo_operator',
      email: DEMO_OPERATOR.email,
      name: DEMO_OPERATOR.name,
      isPlatformOperator: true,
    });
    for (const org of DEMO_ORGS) {
      await tx.insert(organizations).values({
        id: org.id,
        externalId: org.externalId,
        name: org.name,
        billingEmail: `billing@${org.slug}.example`,
      });
      for (const role of ROLES) {
        const userId = `usr_demo${org.slug}${role}`.padEnd(24, '0');
        await tx.insert(users).values({
          id: userId,
          externalId: `demo_${org.slug}_${role}`,
          email: `${role}@${org.slug}.example`,
          name: FIRST_NAMES[org.slug]![role],
        });
        await tx
          .insert(memberships)
          .values({ id: `mem_demo${org.slug}${role}`.padEnd(24, '0'), orgId: org.id, userId, role });
      }
      const secret = demoOrgKey(org.slug);
      await tx.insert(apiKeys).values({
        id: `key_demo${org.slug}`.padEnd(24, '0'),
        orgId: org.id,
        scope: 'org',
        name: 'Demo backend key',
        prefix: secret.slice(0, 12),
        hash: hashApiKey(secret),
      });
      await recordAudit(tx, audit, {
        orgId: org.id,
        action: 'org.created',
        targetType: 'org',
        targetId: org.id,
        after: { name: org.name },
      });
    }
    return { created: true };
  });
}
