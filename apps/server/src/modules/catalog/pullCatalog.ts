import type Stripe from 'stripe';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { type CatalogInput, CREDIT_OVERAGE_KEY } from './catalogSchema.ts';
import { CATALOG_TAG, type RefKind } from './desiredState.ts';
import { CatalogError, parseCatalog } from './loadCatalog.ts';
import { normalizeDecimal } from './priceTerms.ts';

type PlanInput = CatalogInput['plans'][number];
type PriceInput = NonNullable<PlanInput['prices']>['month'];

export interface PullResult {
  catalog: CatalogInput;
  /** What could not be read back and needs a look before the result is pushed. */
  notes: string[];
}

async function listAll<T>(list: () => AsyncIterable<T>): Promise<T[]> {
  return withStripeRetry(async () => {
    const out: T[] = [];
    for await (const x of list()) out.push(x);
    return out;
  });
}

const ours = (md: Stripe.Metadata | null | undefined) => md?.tollgate === CATALOG_TAG;
const productIdOf = (p: Stripe.Price) => (typeof p.product === 'string' ? p.product : p.product.id);
const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^[^a-z]+|_+$/g, '')
    .slice(0, 48) || 'item';

function kindOf(product: Stripe.Product, prices: Stripe.Price[]): RefKind {
  const md = product.metadata?.tollgate_kind;
  if (md === 'plan' || md === 'pack' || md === 'metered') return md;
  for (const [prefix, kind] of [
    ['tg_plan_', 'plan'],
    ['tg_pack_', 'pack'],
    ['tg_metered_', 'metered'],
  ] as const)
    if (product.id.startsWith(prefix)) return kind;
  if (prices.some((p) => p.recurring?.usage_type === 'metered')) return 'metered';
  if (prices.length && prices.every((p) => p.type === 'one_time')) return 'pack';
  return 'plan';
}

function keyOf(product: Stripe.Product): string {
  if (product.metadata?.tollgate_key) return product.metadata.tollgate_key;
  const m = /^tg_(?:plan|pack|metered)_([a-z][a-z0-9_]*)$/.exec(product.id);
  return m ? m[1]! : slug(product.name);
}

function planPriceSpec(p: Stripe.Price): PriceInput {
  if (p.billing_scheme === 'tiered')
    return {
      model: 'tiered',
      mode: p.tiers_mode === 'volume' ? 'volume' : 'graduated',
      tiers: (p.tiers ?? []).map((t) => ({
        upTo: t.up_to ?? 'inf',
        ...(t.unit_amount !== null ? { unitAmount: t.unit_amount } : {}),
        ...(t.flat_amount !== null ? { flatAmount: t.flat_amount } : {}),
      })),
    };
  const md = p.metadata ?? {};
  if (md.tollgate_model === 'per_seat')
    return {
      model: 'per_seat',
      amount: p.unit_amount ?? 0,
      ...(md.tollgate_min_seats ? { minSeats: Number(md.tollgate_min_seats) } : {}),
      ...(md.tollgate_max_seats ? { maxSeats: Number(md.tollgate_max_seats) } : {}),
    };
  return { model: 'flat', amount: p.unit_amount ?? 0 };
}

/**
 * Reads what exists in Stripe — products and prices tagged `tollgate: catalog` or with `tg_`
 * lookup keys, tagged coupons and their promotion codes — into a tollgate.config.ts-shaped
 * object, so an existing account can bootstrap its catalog file.
 */
export async function pullCatalog(stripe: Stripe): Promise<PullResult> {
  const notes: string[] = [];
  const allPrices = await listAll(() =>
    stripe.prices.list({ active: true, limit: 100, expand: ['data.tiers'] }),
  );
  const prices = allPrices.filter((p) => ours(p.metadata) || p.lookup_key?.startsWith('tg_'));
  const withPrices = new Set(prices.map(productIdOf));
  const products = (await listAll(() => stripe.products.list({ active: true, limit: 100 }))).filter(
    (p) => ours(p.metadata) || withPrices.has(p.id),
  );
  let meters: Stripe.Billing.Meter[] = [];
  try {
    meters = await listAll(() => stripe.billing.meters.list({ limit: 100 }));
  } catch {
    notes.push('billing meters could not be listed; metered add-ons need their meterEventName filled in');
  }

  const counts = new Map<string, number>();
  for (const p of prices) counts.set(p.currency, (counts.get(p.currency) ?? 0) + 1);
  const currency = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'usd';
  if (counts.size > 1)
    notes.push(`prices in ${[...counts.keys()].join(', ')}: the catalog has one currency (${currency})`);
  const catalog = {
    currency,
    features: {} as NonNullable<CatalogInput['features']>,
    plans: [] as PlanInput[],
    creditPacks: [] as NonNullable<CatalogInput['creditPacks']>,
    meteredAddons: [] as NonNullable<CatalogInput['meteredAddons']>,
    creditOverage: undefined as CatalogInput['creditOverage'],
    coupons: [] as NonNullable<CatalogInput['coupons']>,
  };

  for (const product of products.sort((a, b) => a.created - b.created || a.id.localeCompare(b.id))) {
    const own = prices.filter((p) => productIdOf(p) === product.id);
    const md = product.metadata ?? {};
    const key = keyOf(product);
    const kind = kindOf(product, own);
    if (kind === 'plan') {
      const plan: PlanInput = {
        key,
        name: product.name,
        rank: Number(md.tollgate_rank ?? catalog.plans.length),
      };
      if (product.description) plan.description = product.description;
      const planPrices: NonNullable<PlanInput['prices']> = {};
      for (const interval of ['month', 'year'] as const) {
        const candidates = own.filter(
          (p) => p.recurring?.interval === interval && p.recurring.interval_count === 1,
        );
        const pick =
          candidates.find(
            (p) => p.lookup_key === `tg_${key}_${interval === 'month' ? 'monthly' : 'yearly'}`,
          ) ?? candidates[0];
        if (candidates.length > 1)
          notes.push(`plan ${key}: ${candidates.length} ${interval}ly prices, kept ${pick!.id}`);
        if (pick) planPrices[interval] = planPriceSpec(pick);
      }
      if (Object.keys(planPrices).length) plan.prices = planPrices;
      const trial =
        md.tollgate_trial_days ??
        own.find((p) => p.recurring?.trial_period_days)?.recurring?.trial_period_days;
      if (trial) plan.trialDays = Number(trial);
      if (md.tollgate_features) {
        plan.features = JSON.parse(md.tollgate_features) as Record<string, boolean | number | null>;
        for (const [f, v] of Object.entries(plan.features))
          catalog.features[f] ??=
            typeof v === 'boolean' ? { type: 'boolean', name: f } : { type: 'limit', name: f };
      }
      if (md.tollgate_credits_per_period)
        plan.credits = {
          perPeriod: Number(md.tollgate_credits_per_period),
          allowOverage: md.tollgate_allow_overage === 'true',
        };
      catalog.plans.push(plan);
    } else if (kind === 'pack') {
      const price = own.find((p) => p.type === 'one_time');
      const credits = Number(price?.metadata?.tollgate_credits ?? md.tollgate_credits ?? 0);
      if (!price) notes.push(`pack ${key}: no active one-off price`);
      if (!credits) notes.push(`pack ${key}: credits unknown (no tollgate_credits metadata), set them`);
      catalog.creditPacks.push({
        key,
        name: product.name,
        credits: credits || 1,
        amount: price?.unit_amount ?? 0,
      });
    } else {
      const price = own.find((p) => p.recurring?.usage_type === 'metered');
      const meter = meters.find((m) => m.id === price?.recurring?.meter);
      const eventName = meter?.event_name ?? md.tollgate_meter_event;
      if (!eventName) notes.push(`metered add-on ${key}: meter event name unknown, set meterEventName`);
      const addon = {
        key,
        name: product.name,
        unitAmountDecimal: normalizeDecimal(price?.unit_amount_decimal) ?? String(price?.unit_amount ?? 0),
        meterEventName: eventName ?? key,
      };
      if (key === CREDIT_OVERAGE_KEY) {
        const { key: _k, ...rest } = addon;
        catalog.creditOverage = rest;
      } else catalog.meteredAddons.push(addon);
    }
  }

  const coupons = (await listAll(() => stripe.coupons.list({ limit: 100 }))).filter((c) => ours(c.metadata));
  const codes = await listAll(() => stripe.promotionCodes.list({ active: true, limit: 100 }));
  for (const c of coupons.sort((a, b) => a.created - b.created)) {
    catalog.coupons.push({
      id: c.id,
      ...(c.name ? { name: c.name } : {}),
      ...(c.percent_off !== null ? { percentOff: c.percent_off } : {}),
      ...(c.amount_off !== null ? { amountOff: c.amount_off } : {}),
      duration: c.duration as 'once' | 'repeating' | 'forever',
      ...(c.duration_in_months !== null ? { durationInMonths: c.duration_in_months } : {}),
      promotionCodes: codes
        .filter(
          (p) =>
            (typeof p.promotion.coupon === 'string' ? p.promotion.coupon : p.promotion.coupon?.id) === c.id,
        )
        .map((p) => p.code),
    });
  }

  catalog.plans.sort((a, b) => a.rank - b.rank);
  catalog.creditPacks.sort((a, b) => a.amount - b.amount);
  if (!catalog.plans.length) notes.push('no plans found: a catalog needs at least one plan');
  if (Object.keys(catalog.features).length)
    notes.push('feature names and types are inferred from plan values (Stripe keeps only the values)');
  try {
    parseCatalog(catalog, 'pulled catalog');
  } catch (err) {
    if (err instanceof CatalogError) notes.push(...err.problems.map((p) => `invalid: ${p}`));
    else throw err;
  }
  return { catalog, notes };
}

/** The pulled catalog as a tollgate.config.ts file. */
export function renderCatalogFile(catalog: CatalogInput, importFrom: string): string {
  const body = JSON.stringify(catalog, null, 2)
    .replace(/^(\s*)"([A-Za-z_$][\w$]*)":/gm, '$1$2:')
    .replace(/"([^"'\\]*)"/g, "'$1'");
  return `import { defineCatalog } from '${importFrom}';\n\nexport default defineCatalog(${body});\n`;
}
