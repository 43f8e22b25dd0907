import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '../src/modules/catalog/catalogSchema.ts';
import { seedCatalog } from './catalogFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, type TestApp } from './harness.ts';

const APP = 'https://app.example.test';
let t: TestApp;
let catalog: Catalog;

beforeAll(async () => {
  t = await startTestApp({ ALLOWED_REDIRECT_ORIGINS: APP });
  catalog = await seedCatalog(t);
});
afterAll(() => t.close());

const portal = (o: TestOrg, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  t.request('POST', `/v1/orgs/${o.id}/portal-sessions`, {
    token: o.admin.jwt,
    body: { return_url: `${APP}/billing`, ...body },
    headers,
  });

const tollgateConfigurations = async () =>
  (await t.deps.stripe.billingPortal.configurations.list({ limit: 100 })).data.filter(
    (c) => c.metadata?.tollgate === 'catalog',
  );

/** The portal sessions Stripe created, newest first, as its events carry them. */
const portalSessions = async () =>
  (await t.deps.stripe.events.list({ type: 'billing_portal.session.created', limit: 100 })).data.map(
    (e) => e.data.object as Stripe.BillingPortal.Session,
  );

async function subscribed(name: string) {
  const org = await createTestOrg(t, name);
  const card = await t.request('POST', `/v1/orgs/${org.id}/payment-methods`, {
    token: org.key,
    body: { payment_method_id: 'pm_card_visa' },
  });
  expect(card.status).toBe(201);
  const sub = await t.request('POST', `/v1/orgs/${org.id}/subscription`, {
    token: org.key,
    body: { plan: 'enterprise' },
  });
  expect(sub.status, JSON.stringify(sub.body)).toBe(201);
  return { org, subscriptionId: sub.body.subscription.id as string };
}

describe('customer portal', () => {
  it("opens the portal for the org's customer with a configuration that mirrors the catalog", async () => {
    const org = await createTestOrg(t, 'Portal Co');
    const res = await portal(org, {});
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.url).toMatch(new RegExp(`^${t.emulator.url}/p/session/`));

    const customer = (await t.request('GET', `/v1/orgs/${org.id}`, { token: org.key })).body
      .stripe_customer_id;
    const [session] = await portalSessions();
    expect(session).toMatchObject({ customer, return_url: `${APP}/billing`, url: res.body.url });

    const configs = await tollgateConfigurations();
    expect(configs).toHaveLength(1);
    const config = configs[0]!;
    expect(session!.configuration).toBe(config.id);
    expect(config.features.invoice_history.enabled).toBe(true);
    expect(config.features.payment_method_update.enabled).toBe(true);
    expect(config.features.subscription_cancel).toMatchObject({ enabled: true, mode: 'at_period_end' });

    // Plan switches: every paid plan's product with its live monthly and yearly prices.
    const plans = (await t.request('GET', '/v1/plans')).body.data as {
      key: string;
      stripe_product_id: string;
      prices: { id: string }[];
    }[];
    const paid = plans.filter((p) => p.prices.length);
    expect(paid.map((p) => p.key)).toEqual(['basic', 'professional', 'enterprise']);
    const update = config.features.subscription_update;
    expect(update.enabled).toBe(true);
    expect(
      update.products
        ?.map((p) => ({ product: p.product, prices: [...p.prices].sort() }))
        .sort((a, b) => a.product.localeCompare(b.product)),
    ).toEqual(
      paid
        .map((p) => ({ product: p.stripe_product_id, prices: p.prices.map((x) => x.id).sort() }))
        .sort((a, b) => a.product.localeCompare(b.product)),
    );
    // The API's own rules: upgrades invoiced now, downgrades and shorter intervals at period end.
    expect(update.proration_behavior).toBe('always_invoice');
    expect(update.schedule_at_period_end?.conditions?.map((c) => c.type).sort()).toEqual([
      'decreasing_item_amount',
      'shortening_interval',
    ]);
    expect(catalog.portal).toEqual({ allowPlanSwitch: true, cancellation: 'at_period_end' });
  });

  it('reuses the configuration while the catalog is unchanged, and makes a new one when it changes', async () => {
    const org = await createTestOrg(t, 'Reuse Co');
    expect((await portal(org, {})).status).toBe(201);
    expect((await portal(org, {})).status).toBe(201);
    const shipped = await tollgateConfigurations();
    expect(shipped).toHaveLength(1);
    const { org: subOrg } = await subscribed('Strict Portal Co');

    // The operator changes the catalog's portal settings; the server reads the catalog file.
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-portal-')), 'catalog.json');
    const withPortal = (p: Catalog['portal']) =>
      writeFileSync(file, JSON.stringify({ ...catalog, portal: p }));
    const latestConfiguration = async () => {
      const [session] = await portalSessions();
      return (await tollgateConfigurations()).find((c) => c.id === session!.configuration)!;
    };
    const originalFile = t.deps.env.CATALOG_FILE;
    t.deps.env.CATALOG_FILE = file;
    try {
      withPortal({ allowPlanSwitch: false, cancellation: 'immediately' });
      expect((await portal(org, {})).status).toBe(201);
      const immediate = await latestConfiguration();
      expect(immediate.id).not.toBe(shipped[0]!.id);
      expect(immediate.features.subscription_cancel).toMatchObject({ enabled: true, mode: 'immediately' });
      expect(immediate.features.subscription_update.enabled).toBe(false);
      // A deep link the catalog does not allow is refused here, not left to fail in Stripe.
      const noSwitch = await portal(subOrg, { flow: 'subscription_update' });
      expect(noSwitch.status).toBe(409);
      expect(noSwitch.body.error.details.field).toBe('flow');

      withPortal({ allowPlanSwitch: true, cancellation: 'disabled' });
      expect((await portal(org, {})).status).toBe(201);
      expect((await latestConfiguration()).features.subscription_cancel.enabled).toBe(false);
      expect((await portal(subOrg, { flow: 'subscription_cancel' })).status).toBe(409);
    } finally {
      t.deps.env.CATALOG_FILE = originalFile;
    }
    expect(await tollgateConfigurations()).toHaveLength(3);
    // Back to the shipped catalog: its configuration is found again, not created once more.
    expect((await portal(org, {})).status).toBe(201);
    expect((await latestConfiguration()).id).toBe(shipped[0]!.id);
    expect(await tollgateConfigurations()).toHaveLength(3);
  });

  it('deep links: card update for anyone, cancel and switch for a subscribed org', async () => {
    const free = await createTestOrg(t, 'Free Portal Co');
    const card = await portal(free, { flow: 'payment_method_update' });
    expect(card.status).toBe(201);
    expect((await portalSessions())[0]!.flow).toMatchObject({
      type: 'payment_method_update',
      after_completion: { type: 'redirect', redirect: { return_url: `${APP}/billing` } },
    });
    const nothingToCancel = await portal(free, { flow: 'subscription_cancel' });
    expect(nothingToCancel.status).toBe(409);
    expect(nothingToCancel.body.error.details.field).toBe('flow');

    const { org, subscriptionId } = await subscribed('Cancel Flow Co');
    const cancel = await portal(org, { flow: 'subscription_cancel' });
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(201);
    expect((await portalSessions())[0]!.flow).toMatchObject({
      type: 'subscription_cancel',
      subscription_cancel: { subscription: subscriptionId },
    });
    const change = await portal(org, { flow: 'subscription_update' });
    expect(change.status).toBe(201);
    expect((await portalSessions())[0]!.flow).toMatchObject({
      type: 'subscription_update',
      subscription_update: { subscription: subscriptionId },
    });
  });

  it('refuses return URLs outside the allow-list, naming return_url', async () => {
    const org = await createTestOrg(t, 'Open Redirect Co');
    for (const url of ['https://evil.test/', 'javascript:alert(1)', `${APP}.evil.test/`, 'not a url']) {
      const res = await portal(org, { return_url: url });
      expect(res.status, url).toBe(400);
      expect(res.body.error.details.issues.map((i: { field: string }) => i.field)).toEqual(['return_url']);
    }
  });

  it('a retry with the same Idempotency-Key gets the same portal session', async () => {
    const org = await createTestOrg(t, 'Retry Portal Co');
    const headers = { 'idempotency-key': 'portal-click-1' };
    const a = await portal(org, {}, headers);
    const b = await portal(org, {}, headers);
    expect(b.body.url).toBe(a.body.url);
    const c = await portal(org, {});
    expect(c.body.url).not.toBe(a.body.url);
    // Opening the portal is audited (it grants billing access), once per session.
    const audit = await t.request('GET', `/v1/orgs/${org.id}/audit-log?action=portal_session.created`, {
      token: org.key,
    });
    expect(audit.body.data).toHaveLength(2);
  });
});
