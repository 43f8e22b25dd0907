import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import exampleCatalog from '../../../tollgate.config.ts';
import type { CatalogInput } from '../src/modules/catalog/catalogSchema.ts';
import { parseCatalog } from '../src/modules/catalog/loadCatalog.ts';
import { planCatalogChanges } from '../src/modules/catalog/planCatalogChanges.ts';
import { pushCatalog } from '../src/modules/catalog/pushCatalog.ts';
import { startTestApp, type TestApp } from './harness.ts';

let t: TestApp;
let stripe: Stripe;

beforeAll(async () => {
  t = await startTestApp();
  stripe = t.deps.stripe;
  await pushCatalog(t.deps, parseCatalog(exampleCatalog));
});
afterAll(() => t.close());

const catalogWith = (change: (c: CatalogInput) => void) => {
  const input = structuredClone(exampleCatalog);
  change(input);
  return parseCatalog(input);
};
const push = async (change: (c: CatalogInput) => void = () => {}) =>
  (await pushCatalog(t.deps, catalogWith(change))).applied.map((c) => `${c.action} ${c.target}`);

async function priceByKey(lookupKey: string) {
  const { data } = await stripe.prices.list({ lookup_keys: [lookupKey] });
  expect(data).toHaveLength(1);
  return data[0]!;
}

const priceRow = async (id: string) =>
  (
    await t.deps.database.query<{ active: boolean; lookup_key: string | null; unit_amount: number }>(
      'SELECT active, lookup_key, unit_amount FROM prices WHERE id = $1',
      [id],
    )
  )[0];

async function subscribe(price: string): Promise<Stripe.Subscription> {
  const customer = await stripe.customers.create({
    email: 'subscriber@example.test',
    payment_method: 'pm_card_visa',
    invoice_settings: { default_payment_method: 'pm_card_visa' },
  });
  return stripe.subscriptions.create({ customer: customer.id, items: [{ price }] });
}

describe('a changed price amount', () => {
  it('creates a new price under the lookup key, archives the old one, and subscribers keep it', async () => {
    const old = await priceByKey('tg_basic_monthly');
    expect(old.unit_amount).toBe(2900);
    const subscription = await subscribe(old.id);

    const plan = await planCatalogChanges(
      stripe,
      catalogWith((c) => {
        c.plans[1]!.prices!.month = { model: 'flat', amount: 3500 };
      }),
    );
    expect(plan).toEqual([
      expect.objectContaining({
        action: 'replace_price',
        target: 'tg_basic_monthly',
        detail: `amount 29.00 USD → 35.00 USD (new price; ${old.id} archived, its subscribers keep it)`,
      }),
    ]);

    // Stripe creates the price but the answer is lost: the retry reuses the idempotency key,
    // so Stripe replays the first result instead of creating a second price.
    const fault = t.emulator.control.injectFault({
      kind: 'error',
      method: 'POST',
      pathRegex: '^/v1/prices$',
      phase: 'after',
    });
    expect(
      await push((c) => {
        c.plans[1]!.prices!.month = { model: 'flat', amount: 3500 };
      }),
    ).toEqual(['replace_price tg_basic_monthly']);
    expect(fault.remaining).toBe(0);

    const basicPrices = (await stripe.prices.list({ product: 'tg_plan_basic', limit: 100 })).data;
    expect(basicPrices).toHaveLength(3);
    const current = await priceByKey('tg_basic_monthly');
    expect(current.id).not.toBe(old.id);
    expect(current).toMatchObject({ active: true, unit_amount: 3500, recurring: { interval: 'month' } });
    expect(await stripe.prices.retrieve(old.id)).toMatchObject({
      active: false,
      lookup_key: null,
      unit_amount: 2900,
    });

    expect(await priceRow(old.id)).toEqual({ active: false, lookup_key: null, unit_amount: 2900 });
    expect(await priceRow(current.id)).toEqual({
      active: true,
      lookup_key: 'tg_basic_monthly',
      unit_amount: 3500,
    });
    const plans = (await t.request('GET', '/v1/plans')).body.data;
    expect(plans.find((p: { key: string }) => p.key === 'basic').prices[0]).toMatchObject({
      id: current.id,
      amount: 3500,
    });

    // The subscriber stays on the archived price, and renews at the old amount.
    const after = await stripe.subscriptions.retrieve(subscription.id);
    expect(after.items.data[0]!.price).toMatchObject({ id: old.id, unit_amount: 2900 });
    t.emulator.control.advanceTime({ seconds: 32 * 86_400 });
    const invoices = (await stripe.invoices.list({ subscription: subscription.id })).data;
    expect(invoices.map((i) => i.billing_reason)).toEqual(['subscription_cycle', 'subscription_create']);
    expect(invoices[0]).toMatchObject({ amount_due: 2900, status: 'paid' });

    expect(
      await push((c) => {
        c.plans[1]!.prices!.month = { model: 'flat', amount: 3500 };
      }),
    ).toEqual([]);
  });
});

describe('a plan dropped from the catalog', () => {
  it('is archived with its prices, and comes back when the catalog has it again', async () => {
    const monthly = await priceByKey('tg_enterprise_monthly');
    const dropped = await push((c) => {
      c.plans = c.plans.filter((p) => p.key !== 'enterprise');
      c.plans[1]!.prices!.month = { model: 'flat', amount: 3500 };
    });
    expect(dropped.sort()).toEqual([
      'archive_price tg_enterprise_monthly',
      'archive_price tg_enterprise_yearly',
      'archive_product tg_plan_enterprise',
    ]);
    expect((await stripe.products.retrieve('tg_plan_enterprise')).active).toBe(false);
    expect((await stripe.prices.retrieve(monthly.id)).active).toBe(false);
    expect((await t.request('GET', '/v1/plans')).body.data.map((p: { key: string }) => p.key)).toEqual([
      'free',
      'basic',
      'professional',
    ]);
    expect(await priceRow(monthly.id)).toMatchObject({ active: false, lookup_key: null });

    const restored = await push((c) => {
      c.plans[1]!.prices!.month = { model: 'flat', amount: 3500 };
    });
    expect(restored).toEqual([
      'update_product tg_plan_enterprise',
      'reactivate_price tg_enterprise_monthly',
      'reactivate_price tg_enterprise_yearly',
    ]);
    expect(await priceRow(monthly.id)).toMatchObject({ active: true, lookup_key: 'tg_enterprise_monthly' });
    expect((await t.request('GET', '/v1/plans')).body.data).toHaveLength(4);
  });
});
