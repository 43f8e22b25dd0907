import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTollgateClient } from '../../../packages/client/src/index.ts';
import exampleCatalog from '../../../tollgate.config.ts';
import type { CatalogInput } from '../src/modules/catalog/catalogSchema.ts';
import { diffCatalog } from '../src/modules/catalog/diffCatalog.ts';
import { parseCatalog } from '../src/modules/catalog/loadCatalog.ts';
import { planCatalogChanges } from '../src/modules/catalog/planCatalogChanges.ts';
import { pullCatalog } from '../src/modules/catalog/pullCatalog.ts';
import { type PushResult, pushCatalog } from '../src/modules/catalog/pushCatalog.ts';
import { startTestApp, TEST_STRIPE_KEY, type TestApp } from './harness.ts';

const CLI = fileURLToPath(new URL('../bin/tollgate.mjs', import.meta.url));

/** The shipped example plus a per-seat/tiered plan, so every price model is exercised. */
function testCatalogInput(change: (c: CatalogInput) => void = () => {}): CatalogInput {
  const input = structuredClone(exampleCatalog);
  input.plans.push({
    key: 'team',
    name: 'Team',
    description: 'For growing teams',
    rank: 4,
    prices: {
      month: { model: 'per_seat', amount: 1200, minSeats: 2 },
      year: {
        model: 'tiered',
        mode: 'graduated',
        tiers: [
          { upTo: 10, unitAmount: 10000 },
          { upTo: 'inf', unitAmount: 8000, flatAmount: 500 },
        ],
      },
    },
    features: { api_access: true, sso: true, priority_support: false, projects: 50, seats: null },
    credits: { perPeriod: 10000, allowOverage: true },
  });
  change(input);
  return input;
}

let t: TestApp;
let stripe: Stripe;
let metersSupported: boolean;
const dir = mkdtempSync(join(tmpdir(), 'tg-catalog-test-'));

beforeAll(async () => {
  t = await startTestApp();
  stripe = t.deps.stripe;
  metersSupported = await stripe.billing.meters.list().then(
    () => true,
    () => false,
  );
});
afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

const push = (input = testCatalogInput()) => pushCatalog(t.deps, parseCatalog(input));
const actions = (r: PushResult) => r.applied.map((c) => `${c.action} ${c.target}`);

async function allPrices() {
  const out: Stripe.Price[] = [];
  for await (const p of stripe.prices.list({ limit: 100 })) out.push(p);
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

async function priceByKey(lookupKey: string) {
  const { data } = await stripe.prices.list({ lookup_keys: [lookupKey], expand: ['data.tiers'] });
  expect(data).toHaveLength(1);
  return data[0]!;
}

/** Runs the real CLI (bin/tollgate.mjs through tsx) against this test's emulator. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: {
        PATH: process.env.PATH,
        TOLLGATE_DEMO: 'false',
        STRIPE_SECRET_KEY: TEST_STRIPE_KEY,
        STRIPE_API_BASE: t.emulator.url,
        PGLITE_DATA_DIR: 'memory://',
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('catalog push', () => {
  it('creates what the catalog declares in an empty Stripe', async () => {
    expect(await allPrices()).toEqual([]);
    const result = await push();
    expect(result.remaining).toEqual([]);
    expect(actions(result)).toEqual(
      expect.arrayContaining([
        'create_product tg_plan_free',
        'create_product tg_plan_basic',
        'create_product tg_pack_credits_1k',
        'create_price tg_basic_monthly',
        'create_price tg_team_yearly',
        'create_coupon LAUNCH20',
        'create_promotion_code LAUNCH20',
      ]),
    );

    const basic = await stripe.products.retrieve('tg_plan_basic');
    expect(basic).toMatchObject({ name: 'Basic', active: true });
    expect(basic.metadata).toMatchObject({
      tollgate: 'catalog',
      tollgate_kind: 'plan',
      tollgate_key: 'basic',
    });
    expect(JSON.parse(basic.metadata.tollgate_features!)).toEqual({
      api_access: true,
      sso: false,
      priority_support: false,
      projects: 5,
      seats: 3,
    });
    expect((await stripe.products.retrieve('tg_plan_team')).description).toBe('For growing teams');

    const expected: [string, number, 'month' | 'year'][] = [
      ['tg_basic_monthly', 2900, 'month'],
      ['tg_basic_yearly', 29000, 'year'],
      ['tg_professional_monthly', 7900, 'month'],
      ['tg_professional_yearly', 79000, 'year'],
      ['tg_enterprise_monthly', 19900, 'month'],
      ['tg_enterprise_yearly', 199000, 'year'],
    ];
    for (const [key, amount, interval] of expected) {
      const price = await priceByKey(key);
      expect(price).toMatchObject({
        active: true,
        unit_amount: amount,
        currency: 'usd',
        billing_scheme: 'per_unit',
      });
      expect(price.recurring).toMatchObject({ interval, interval_count: 1, usage_type: 'licensed' });
      expect(price.metadata).toMatchObject({ tollgate: 'catalog', tollgate_key: key.split('_')[1] });
    }
    const perSeat = await priceByKey('tg_team_monthly');
    expect(perSeat).toMatchObject({ unit_amount: 1200, billing_scheme: 'per_unit', product: 'tg_plan_team' });
    expect(perSeat.metadata).toMatchObject({ tollgate_model: 'per_seat', tollgate_min_seats: '2' });
    const tiered = await priceByKey('tg_team_yearly');
    expect(tiered).toMatchObject({ billing_scheme: 'tiered', tiers_mode: 'graduated', unit_amount: null });
    expect(tiered.recurring?.interval).toBe('year');
    expect(tiered.tiers).toEqual([
      expect.objectContaining({ up_to: 10, unit_amount: 10000, flat_amount: null }),
      expect.objectContaining({ up_to: null, unit_amount: 8000, flat_amount: 500 }),
    ]);
    const pack = await priceByKey('tg_pack_credits_10k');
    expect(pack).toMatchObject({
      type: 'one_time',
      unit_amount: 9000,
      product: 'tg_pack_credits_10k',
      recurring: null,
    });
    expect(pack.metadata).toMatchObject({ tollgate_kind: 'pack', tollgate_credits: '10000' });

    if (metersSupported) {
      const meters = (await stripe.billing.meters.list()).data;
      for (const [addon, event, decimal] of [
        ['sms', 'tollgate_sms', '5'],
        ['email', 'tollgate_email', '1'],
        ['webhook_call', 'tollgate_webhook_call', '0.1'],
        ['credit_overage', 'tollgate_credit_overage', '1'],
      ] as const) {
        const meter = meters.find((m) => m.event_name === event);
        expect(meter).toMatchObject({ status: 'active', default_aggregation: { formula: 'sum' } });
        const price = await priceByKey(`tg_metered_${addon}`);
        expect(price.recurring).toMatchObject({ interval: 'month', usage_type: 'metered', meter: meter!.id });
        expect(String(price.unit_amount_decimal)).toBe(decimal);
      }
    } else {
      expect(result.reported.filter((c) => c.action === 'skipped').map((c) => c.target)).toEqual([
        'tg_metered_sms',
        'tg_metered_email',
        'tg_metered_webhook_call',
        'tg_metered_credit_overage',
      ]);
    }

    expect(await stripe.coupons.retrieve('LAUNCH20')).toMatchObject({
      percent_off: 20,
      duration: 'repeating',
      duration_in_months: 3,
      metadata: { tollgate: 'catalog' },
    });
    const promo = (await stripe.promotionCodes.list({ code: 'LAUNCH20' })).data;
    expect(promo).toHaveLength(1);
    expect(promo[0]).toMatchObject({ active: true, promotion: { type: 'coupon', coupon: 'LAUNCH20' } });

    // The database holds the catalog with the Stripe ids.
    const plans = await t.deps.database.query<{ key: string; stripe_product_id: string | null }>(
      'SELECT key, stripe_product_id FROM plans ORDER BY rank',
    );
    expect(plans).toEqual(
      ['free', 'basic', 'professional', 'enterprise', 'team'].map((k) => ({
        key: k,
        stripe_product_id: `tg_plan_${k}`,
      })),
    );
    const rows = await t.deps.database.query<{ id: string; lookup_key: string }>(
      'SELECT id, lookup_key FROM prices WHERE active ORDER BY lookup_key',
    );
    expect(rows).toHaveLength(metersSupported ? 15 : 11);
    expect(rows.find((r) => r.lookup_key === 'tg_basic_monthly')?.id).toBe(
      (await priceByKey('tg_basic_monthly')).id,
    );
  });

  it('changes nothing when pushed again', async () => {
    const before = await allPrices();
    const products = (await stripe.products.list({ limit: 100 })).data.length;
    const second = await push();
    expect(second.applied).toEqual([]);
    expect(await allPrices()).toEqual(before);
    expect((await stripe.products.list({ limit: 100 })).data).toHaveLength(products);
    const plan = await planCatalogChanges(stripe, parseCatalog(testCatalogInput()));
    expect(plan.filter((c) => c.action !== 'skipped')).toEqual([]);
  });

  it('pull reads the pushed catalog back into the config shape', async () => {
    const { catalog: pulled, notes } = await pullCatalog(stripe);
    const parsed = parseCatalog(pulled);
    const source = parseCatalog(testCatalogInput());
    expect(parsed.plans).toEqual(source.plans);
    expect(parsed.creditPacks).toEqual(source.creditPacks);
    expect(parsed.coupons).toEqual(source.coupons);
    // Stripe lists add-ons created in the same second in id order, not the file's order.
    const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
    if (metersSupported) expect(parsed.meteredAddons.sort(byKey)).toEqual(source.meteredAddons.sort(byKey));
    if (metersSupported) expect(parsed.creditOverage).toEqual(source.creditOverage);
    expect(notes.filter((n) => n.startsWith('invalid'))).toEqual([]);
  });
});

describe('public catalog routes', () => {
  it('GET /v1/plans lists plans with features and live Stripe prices, without credentials', async () => {
    const res = await t.request('GET', '/v1/plans');
    expect(res.status).toBe(200);
    const plans = res.body.data as { key: string; prices: unknown; features: unknown }[];
    expect(plans.map((p) => p.key)).toEqual(['free', 'basic', 'professional', 'enterprise', 'team']);
    expect(plans[0]).toMatchObject({ name: 'Free', prices: [], credits_per_period: 100, trial_days: 0 });
    const basic = plans[1];
    expect(basic).toMatchObject({
      name: 'Basic',
      trial_days: 14,
      credits_per_period: 1000,
      allow_overage: false,
      stripe_product_id: 'tg_plan_basic',
      features: { api_access: true, sso: false, projects: 5, seats: 3 },
    });
    expect(basic!.prices).toEqual([
      {
        id: (await priceByKey('tg_basic_monthly')).id,
        interval: 'month',
        amount: 2900,
        currency: 'usd',
        model: 'flat',
        lookup_key: 'tg_basic_monthly',
        tiers_mode: null,
        tiers: null,
      },
      expect.objectContaining({ interval: 'year', amount: 29000, lookup_key: 'tg_basic_yearly' }),
    ]);
    expect(plans[3]!.features).toMatchObject({ projects: null, seats: null });
    expect(plans[4]!.prices).toEqual([
      expect.objectContaining({ interval: 'month', model: 'per_seat', amount: 1200 }),
      expect.objectContaining({
        interval: 'year',
        model: 'tiered',
        amount: null,
        tiers_mode: 'graduated',
        tiers: [
          { up_to: 10, unit_amount: 10000, flat_amount: null },
          { up_to: null, unit_amount: 8000, flat_amount: 500 },
        ],
      }),
    ]);
  });

  it('GET /v1/credit-products lists packs and metered add-ons with price ids, without credentials', async () => {
    const res = await t.request('GET', '/v1/credit-products');
    expect(res.status).toBe(200);
    expect(res.body.packs).toEqual([
      {
        key: 'credits_1k',
        name: '1,000 credits',
        credits: 1000,
        amount: 1000,
        currency: 'usd',
        price_id: (await priceByKey('tg_pack_credits_1k')).id,
      },
      expect.objectContaining({ key: 'credits_10k', credits: 10000, amount: 9000 }),
      expect.objectContaining({ key: 'credits_100k', credits: 100000, amount: 80000 }),
    ]);
    if (metersSupported)
      expect(res.body.metered).toEqual(
        expect.arrayContaining([
          {
            key: 'webhook_call',
            name: 'Webhook call',
            unit_amount_decimal: '0.1',
            currency: 'usd',
            interval: 'month',
            meter_event_name: 'tollgate_webhook_call',
            price_id: (await priceByKey('tg_metered_webhook_call')).id,
          },
        ]),
      );
    else expect(res.body.metered).toEqual([]);
  });

  it('the client package reads both without a token', async () => {
    const client = createTollgateClient({ baseUrl: t.url });
    const plans = await client.getPlans();
    expect(plans.data.find((p) => p.key === 'basic')?.prices[0]?.amount).toBe(2900);
    const products = await client.getCreditProducts();
    expect(products.packs.map((p) => p.price_id)).toEqual(
      (await t.request('GET', '/v1/credit-products')).body.packs.map((p: { price_id: string }) => p.price_id),
    );
  });
});

describe('catalog diff', () => {
  it('reports a product renamed in Stripe as drift, and the CLI exits 1', async () => {
    await stripe.products.update('tg_plan_basic', { name: 'Basic (edited in the dashboard)' });
    const diff = await diffCatalog(stripe, parseCatalog(testCatalogInput()));
    expect(diff.drift).toBe(true);
    expect(diff.changes).toEqual([
      expect.objectContaining({
        action: 'update_product',
        target: 'tg_plan_basic',
        detail: 'name "Basic (edited in the dashboard)" → "Basic"',
      }),
    ]);

    const file = join(dir, 'catalog.json');
    writeFileSync(file, JSON.stringify(testCatalogInput()));
    const cli = await runCli(['catalog', 'diff', '--file', file]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/^ACTION\s+TARGET\s+DETAIL$/m);
    expect(cli.stdout).toMatch(
      /update product\s+tg_plan_basic\s+name "Basic \(edited in the dashboard\)" → "Basic"/,
    );

    expect(actions(await push())).toEqual(['update_product tg_plan_basic']);
    expect((await stripe.products.retrieve('tg_plan_basic')).name).toBe('Basic');
    expect((await diffCatalog(stripe, parseCatalog(testCatalogInput()))).drift).toBe(false);
  });

  it('reports a changed coupon as drift needing a new id, and leaves the coupon alone', async () => {
    const input = testCatalogInput((c) => {
      c.coupons![0]!.percentOff = 25;
    });
    const result = await push(input);
    expect(result.applied).toEqual([]);
    expect(result.reported).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: 'drift',
          target: 'LAUNCH20',
          detail: expect.stringContaining(
            'percent_off 20 → 25: coupons are immutable, give the changed coupon a new id',
          ),
        }),
      ]),
    );
    expect((await stripe.coupons.retrieve('LAUNCH20')).percent_off).toBe(20);
  });
});
