import type { OrgRole } from '../src/db/schema/index.ts';
import { randomToken } from '../src/ids.ts';
import { createApiKey } from '../src/modules/api-keys/createApiKey.ts';
import { systemAudit } from '../src/modules/audit/recordAudit.ts';
import { addMember } from '../src/modules/members/addMember.ts';
import { createOrg } from '../src/modules/orgs/createOrg.ts';
import { mintJwt, type TestApp } from './harness.ts';

export interface TestUser {
  userId: string;
  externalId: string;
  membershipId: string;
  role: OrgRole;
  /** A JWT with no org claim: access comes from the membership row. */
  jwt: string;
}

export interface TestOrg {
  id: string;
  name: string;
  key: string;
  keyId: string;
  owner: TestUser;
  admin: TestUser;
  member: TestUser;
}

/** An org with an owner, an admin, a member and a secret key. */
export async function createTestOrg(t: TestApp, name = `Org ${randomToken(5)}`): Promise<TestOrg> {
  const audit = systemAudit();
  const org = await createOrg(t.deps, audit, {
    name,
    billingEmail: `billing@${name.replace(/\W/g, '').toLowerCase()}.test`,
  });
  const users = {} as Record<OrgRole, TestUser>;
  for (const role of ['owner', 'admin', 'member'] as const) {
    const externalId = `idp_${role}_${randomToken(8)}`;
    const m = await addMember(
      t.deps,
      audit,
      org.id,
      { externalId, email: `${role}@${org.id}.test` },
      role,
      'owner',
    );
    users[role] = {
      userId: m.user_id,
      externalId,
      membershipId: m.id,
      role,
      jwt: await mintJwt({ sub: externalId, email: m.email }),
    };
  }
  const key = await createApiKey(t.deps, audit, org.id, 'test backend');
  return { id: org.id, name, key: key.secret, keyId: key.id, ...users };
}
