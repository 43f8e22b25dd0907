/**
 * /v1/prices: create (per-unit, tiered graduated/volume, package, decimal; one-off or
 * recurring; inline product_data), retrieve, update (amounts are immutable), list, search.
 * `lookup_key` is unique; `transfer_lookup_key` moves it from the price that holds it.
 */
import type { Emulator } from '../../core/context.ts';
import { diff, emitEvent } from '../../core/events.ts';
import { inRange, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { searchRows } from '../../core/search.ts';
import { invalidRequest } from '../../http/errors.ts';
import { type Infer, type InferShape, p } from '../../http/params.ts';
import { mergeMetadata } from '../shared.ts';
import { priceDataShape, productDataParams, tierParams } from './params.ts';
import { createProduct } from './products.ts';
import { type PriceRow, Prices, Products, type TierRow } from './tables.ts';

const createShape = {
  ...priceDataShape,
  active: p.bool(),
  billing_scheme: p.enum(['per_unit', 'tiered']),
  lookup_key: p.string({ maxLength: 200 }),
  nickname: p.string(),
  product: p.string(),
  product_data: productDataParams,
  tiers: p.array(tierParams),
  tiers_mode: p.enum(['graduated', 'volume']),
  transfer_lookup_key: p.bool(),
  transform_quantity: p.object({
    divide_by: p.required(p.int({ min: 1 })),
    round: p.required(p.enum(['up', 'down'])),
  }),
};

export type PriceInput = Omit<InferShape<typeof createShape>, 'product_data'>;

const MAX_INTERVAL_DAYS: Record<string, number> = { day: 1, week: 7, month: 31, year: 366 };

function toTiers(tiers: Infer<typeof tierParams>[]): TierRow[] {
  return tiers.map((t, i) => {
    if (t.unit_amount !== undefined && t.unit_amount_decimal !== undefined) {
      throw invalidRequest('You may only specify one of unit_amount and unit_amount_decimal.', `tiers[${i}]`);
    }
    if (t.up_to === 'inf' && i !== tiers.length - 1) {
      throw invalidRequest('Only the last tier may have `up_to: inf`.', `tiers[${i}][up_to]`);
    }
    return {
      flat_amount: t.flat_amount ?? null,
      flat_amount_decimal:
        t.flat_amount_decimal ?? (t.flat_amount !== undefined ? String(t.flat_amount) : null),
      unit_amount: t.unit_amount ?? null,
      unit_amount_decimal:
        t.unit_amount_decimal ?? (t.unit_amount !== undefined ? String(t.unit_amount) : null),
      up_to: t.up_to === 'inf' ? null : t.up_to,
    };
  });
}

/** Take `lookupKey` (moving it off another price when `transfer`), or refuse like Stripe. */
function claimLookupKey(ctx: Emulator, lookupKey: string, transfer: boolean, selfId?: string): void {
  const table = ctx.store.of(Prices);
  for (const other of table.values()) {
    if (other.lookup_key !== lookupKey || other.id === selfId) continue;
    if (!transfer) {
      throw invalidRequest(
        `A price (\`${other.id}\`) already uses that lookup key.`,
        'lookup_key',
        'lookup_key_already_exists',
      );
    }
    const moved = table.update(other.id, { lookup_key: null });
    emitEvent(ctx, 'price.updated', moved, { previousAttributes: { lookup_key: lookupKey } });
  }
}

export function createPrice(ctx: Emulator, input: PriceInput, productId: string): PriceRow {
  const scheme = input.billing_scheme ?? (input.tiers?.length ? 'tiered' : 'per_unit');
  if (scheme === 'tiered') {
    if (!input.tiers?.length)
      throw invalidRequest('Missing required param: tiers.', 'tiers', 'parameter_missing');
    if (!input.tiers_mode)
      throw invalidRequest('Missing required param: tiers_mode.', 'tiers_mode', 'parameter_missing');
    if (input.unit_amount !== undefined) {
      throw invalidRequest('You cannot specify `unit_amount` for a tiered price.', 'unit_amount');
    }
  } else {
    if (input.tiers?.length) throw invalidRequest('`tiers` requires `billing_scheme=tiered`.', 'tiers');
    if (input.unit_amount !== undefined && input.unit_amount_decimal !== undefined) {
      throw invalidRequest(
        'You may only specify one of these parameters: unit_amount, unit_amount_decimal.',
        'unit_amount',
      );
    }
    if (
      input.unit_amount === undefined &&
      input.unit_amount_decimal === undefined &&
      !input.custom_unit_amount
    ) {
      throw invalidRequest(
        'Missing required param: unit_amount. You must pass either unit_amount, unit_amount_decimal, custom_unit_amount or tiers.',
        'unit_amount',
        'parameter_missing',
      );
    }
  }
  if (input.transform_quantity && scheme === 'tiered') {
    throw invalidRequest('transform_quantity cannot be combined with tiers.', 'transform_quantity');
  }
  const recurring = input.recurring;
  if (recurring) {
    const days = MAX_INTERVAL_DAYS[recurring.interval]! * (recurring.interval_count ?? 1);
    if (days > 3 * 366) {
      throw invalidRequest('The maximum billing interval is three years.', 'recurring[interval_count]');
    }
    if (recurring.usage_type === 'metered' && !recurring.meter) {
      throw invalidRequest(
        'Metered prices need a `recurring[meter]`.',
        'recurring[meter]',
        'parameter_missing',
      );
    }
  }
  if (input.lookup_key) claimLookupKey(ctx, input.lookup_key, input.transfer_lookup_key ?? false);
  const table = ctx.store.of(Prices);
  const unitDecimal =
    input.unit_amount_decimal ?? (input.unit_amount !== undefined ? String(input.unit_amount) : null);
  const price: PriceRow = {
    id: table.newId(),
    object: 'price',
    active: input.active ?? true,
    billing_scheme: scheme,
    created: ctx.clock.now(),
    currency: input.currency,
    custom_unit_amount: input.custom_unit_amount?.enabled
      ? {
          maximum: input.custom_unit_amount.maximum ?? null,
          minimum: input.custom_unit_amount.minimum ?? null,
          preset: input.custom_unit_amount.preset ?? null,
        }
      : null,
    livemode: false,
    lookup_key: input.lookup_key ?? null,
    metadata: mergeMetadata({}, input.metadata),
    nickname: input.nickname ?? null,
    product: productId,
    recurring: recurring
      ? {
          interval: recurring.interval,
          interval_count: recurring.interval_count ?? 1,
          meter: recurring.meter ?? null,
          trial_period_days: recurring.trial_period_days ?? null,
          usage_type: recurring.usage_type ?? 'licensed',
        }
      : null,
    tax_behavior: input.tax_behavior ?? 'unspecified',
    tiers_mode: scheme === 'tiered' ? (input.tiers_mode ?? null) : null,
    transform_quantity: input.transform_quantity ?? null,
    type: recurring ? 'recurring' : 'one_time',
    unit_amount:
      scheme === 'tiered' || input.custom_unit_amount
        ? null
        : (input.unit_amount ?? (Number.isInteger(Number(unitDecimal)) ? Number(unitDecimal) : null)),
    unit_amount_decimal: scheme === 'tiered' ? null : unitDecimal,
  };
  table.insert(price, {
    tiers: scheme === 'tiered' ? toTiers(input.tiers ?? []) : undefined,
    currency_options: input.currency_options as Record<string, unknown> | undefined,
  });
  emitEvent(ctx, 'price.created', price);
  return price;
}

const searchFields = {
  active: (x: PriceRow) => x.active,
  currency: (x: PriceRow) => x.currency,
  lookup_key: (x: PriceRow) => x.lookup_key,
  metadata: (x: PriceRow) => x.metadata,
  product: (x: PriceRow) => x.product,
  type: (x: PriceRow) => x.type,
  created: (x: PriceRow) => x.created,
};

export const pricesModule: EmulatorModule = {
  name: 'prices',
  register(app) {
    app.post('/v1/prices', createShape, (req) => {
      const { ctx } = req;
      const { product, product_data, ...input } = req.params;
      if ((product === undefined) === (product_data === undefined)) {
        throw invalidRequest(
          'You must specify either `product` or `product_data` when creating a price.',
          'product',
        );
      }
      const productId = product
        ? ctx.store.of(Products).require(product, 'product').id
        : createProduct(ctx, { ...product_data!, type: 'service' }).id;
      return createPrice(ctx, input, productId);
    });

    app.search('/v1/prices/search', {}, (req) =>
      searchRows(req, req.ctx.store.of(Prices).sorted(), searchFields, 'prices'),
    );

    app.get('/v1/prices/:id', {}, (req) => req.ctx.store.of(Prices).require(req.path.id!));

    app.post(
      '/v1/prices/:id',
      {
        active: p.bool(),
        lookup_key: p.emptyable(p.string({ maxLength: 200 })),
        transfer_lookup_key: p.bool(),
        metadata: p.metadata(),
        nickname: p.emptyable(p.string()),
        tax_behavior: p.enum(['exclusive', 'inclusive', 'unspecified']),
        currency_options: p.any(),
      },
      (req) => {
        const { ctx, params } = req;
        const table = ctx.store.of(Prices);
        const old = table.require(req.path.id!);
        if (params.lookup_key)
          claimLookupKey(ctx, params.lookup_key, params.transfer_lookup_key ?? false, old.id);
        const next = table.replace({
          ...old,
          active: params.active ?? old.active,
          lookup_key: params.lookup_key === undefined ? old.lookup_key : params.lookup_key,
          metadata: mergeMetadata(old.metadata, params.metadata),
          nickname: params.nickname === undefined ? old.nickname : params.nickname,
          tax_behavior: params.tax_behavior ?? old.tax_behavior,
        });
        emitEvent(ctx, 'price.updated', next, { previousAttributes: diff(old, next) });
        return next;
      },
    );

    app.list(
      '/v1/prices',
      {
        active: p.bool(),
        currency: p.currency(),
        product: p.string(),
        type: p.enum(['one_time', 'recurring']),
        lookup_keys: p.array(p.string(), { max: 10 }),
        recurring: p.object({
          interval: p.enum(['day', 'week', 'month', 'year']),
          usage_type: p.enum(['licensed', 'metered']),
          meter: p.string(),
        }),
        created: p.range(),
      },
      (req) => {
        const { active, currency, product, type, lookup_keys, recurring, created } = req.params;
        const keys = lookup_keys?.length ? new Set(lookup_keys) : null;
        const table = req.ctx.store.of(Prices);
        const rows = table.sorted(
          (x) =>
            (active === undefined || x.active === active) &&
            (!currency || x.currency === currency) &&
            (!product || x.product === product) &&
            (!type || x.type === type) &&
            (!keys || (x.lookup_key !== null && keys.has(x.lookup_key))) &&
            (!recurring?.interval || x.recurring?.interval === recurring.interval) &&
            (!recurring?.usage_type || x.recurring?.usage_type === recurring.usage_type) &&
            (!recurring?.meter || x.recurring?.meter === recurring.meter) &&
            inRange(x.created, created),
        );
        return paginate(req, rows, table);
      },
    );

    // Like Stripe, tiers and currency_options are only included when expanded.
    app.virtualExpansion(
      'price',
      'tiers',
      (ctx, row) => ctx.store.of(Prices).meta(row.id as string)?.tiers ?? [],
    );
    app.virtualExpansion(
      'price',
      'currency_options',
      (ctx, row) => ctx.store.of(Prices).meta(row.id as string)?.currency_options ?? {},
    );
  },
};
