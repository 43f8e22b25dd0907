import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTollgateClient, TollgateError } from '../../../packages/client/src/index.ts';
import { renderClientTypes } from '../../../scripts/gen-client-types.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, type TestApp } from './harness.ts';

let t: TestApp;
let org: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  org = await createTestOrg(t, 'Client Co');
});
afterAll(() => t.close());

describe('@tollgate/client against a running server', () => {
  it('reads and updates the org with a secret key', async () => {
    const client = createTollgateClient({ baseUrl: t.url, token: org.key });
    expect((await client.getOrg(org.id)).name).toBe('Client Co');
    const updated = await client.updateOrg(org.id, { billing_email: 'ap@client.test' });
    expect(updated.billing_email).toBe('ap@client.test');
    const members = await client.listMembers(org.id);
    expect(members.data.map((m) => m.role).sort()).toEqual(['admin', 'member', 'owner']);
  });

  it('turns error envelopes into TollgateError with status, code and request id', async () => {
    const client = createTollgateClient({ baseUrl: t.url, token: org.member.jwt });
    const err = await client.createApiKey(org.id, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TollgateError);
    expect((err as TollgateError).status).toBe(403);
    expect((err as TollgateError).code).toBe('forbidden');
    expect((err as TollgateError).requestId).toMatch(/^req_/);
  });

  it('mints a dashboard sign-in link', async () => {
    const client = createTollgateClient({ baseUrl: t.url, token: org.key });
    const s = await client.createDashboardSession(org.id, { user_id: org.admin.userId });
    expect(s.url.startsWith(`${t.url}/auth/dashboard?token=`)).toBe(true);
  });

  it('billing calls under the names host apps use, bound to one org', async () => {
    const client = createTollgateClient({ baseUrl: t.url, token: org.key, org: org.id });
    expect((await client.getSubscription()).plan).toBe('free');
    const card = await client.addPaymentMethod('pm_card_visa');
    expect(card).toMatchObject({ brand: 'visa', last4: '4242', is_default: true });
    expect((await client.getPaymentMethods()).data.map((c) => c.id)).toEqual([card.id]);
    expect((await client.removePaymentMethod(card.id)).data).toEqual([]);
    const unbound = createTollgateClient({ baseUrl: t.url, token: org.key });
    await expect(unbound.getSubscription()).rejects.toThrow(/org/);
  });

  it('has types generated from the current OpenAPI document (run `npm run client:types` when this fails)', async () => {
    const committed = readFileSync(
      new URL('../../../packages/client/src/schema.ts', import.meta.url),
      'utf8',
    );
    expect(committed).toBe(await renderClientTypes());
  });
});
