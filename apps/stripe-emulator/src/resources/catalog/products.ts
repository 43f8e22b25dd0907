/**
 * /v1/products: create (optionally with default_price_data), retrieve, update, delete (only
 * without prices), list, search.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { diff, emitEvent } from '../../core/events.ts';
import { inRange, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { searchRows } from '../../core/search.ts';
import { invalidRequest } from '../../http/errors.ts';
import { type InferShape, p } from '../../http/params.ts';
import { keepOr, mergeMetadata } from '../shared.ts';
import { priceDataShape } from './params.ts';
import { createPrice } from './prices.ts';
import { Prices, Products } from './tables.ts';

const marketingFeature = p.object({ name: p.required(p.string()) });
const packageDimensions = p.object({
  height: p.required(p.number()),
  length: p.required(p.number()),
  weight: p.required(p.number()),
  width: p.required(p.number()),
});

const createShape = {
  name: p.required(p.string()),
  id: p.string(),
  active: p.bool(),
  default_price_data: p.object({ ...priceDataShape }),
  description: p.string(),
  images: p.array(p.string(), { max: 8 }),
  marketing_features: p.array(marketingFeature, { max: 15 }),
  metadata: p.metadata(),
  package_dimensions: packageDimensions,
  shippable: p.bool(),
  statement_descriptor: p.string({ maxLength: 22 }),
  tax_code: p.string(),
  tax_details: p.any(),
  type: p.enum(['good', 'service']),
  unit_label: p.string(),
  url: p.string(),
};

type ProductInput = Omit<InferShape<typeof createShape>, 'default_price_data'>;

export function createProduct(ctx: Emulator, input: ProductInput): Stripe.Product {
  const table = ctx.store.of(Products);
  if (input.id && (table.has(input.id) || table.deleted.has(input.id))) {
    throw invalidRequest('Product already exists.', 'id', 'resource_already_exists');
  }
  const now = ctx.clock.now();
  const product: Stripe.Product = {
    id: input.id ?? table.newId(),
    object: 'product',
    active: input.active ?? true,
    created: now,
    default_price: null,
    description: input.description ?? null,
    images: input.images ?? [],
    livemode: false,
    marketing_features: (input.marketing_features ?? []).map((f) => ({ name: f.name })),
    metadata: mergeMetadata({}, input.metadata),
    name: input.name,
    package_dimensions: input.package_dimensions ?? null,
    shippable: input.type === 'good' ? (input.shippable ?? null) : null,
    statement_descriptor: input.statement_descriptor ?? null,
    tax_code: input.tax_code ?? null,
    tax_details: null,
    type: input.type ?? 'service',
    unit_label: input.unit_label ?? null,
    updated: now,
    url: input.url ?? null,
  };
  table.insert(product);
  emitEvent(ctx, 'product.created', product);
  return product;
}

const searchFields = {
  active: (x: Stripe.Product) => x.active,
  description: (x: Stripe.Product) => x.description,
  metadata: (x: Stripe.Product) => x.metadata,
  name: (x: Stripe.Product) => x.name,
  shippable: (x: Stripe.Product) => x.shippable,
  url: (x: Stripe.Product) => x.url,
  created: (x: Stripe.Product) => x.created,
};

export const productsModule: EmulatorModule = {
  name: 'products',
  register(app) {
    app.post('/v1/products', createShape, (req) => {
      const { ctx } = req;
      const { default_price_data, ...input } = req.params;
      const product = createProduct(ctx, input);
      if (!default_price_data) return product;
      const price = createPrice(ctx, default_price_data, product.id);
      const table = ctx.store.of(Products);
      const next = table.update(product.id, { default_price: price.id });
      emitEvent(ctx, 'product.updated', next, { previousAttributes: { default_price: null } });
      return next;
    });

    app.search('/v1/products/search', {}, (req) =>
      searchRows(req, req.ctx.store.of(Products).sorted(), searchFields, 'products'),
    );

    app.get('/v1/products/:id', {}, (req) => req.ctx.store.of(Products).require(req.path.id!));

    app.post(
      '/v1/products/:id',
      {
        active: p.bool(),
        default_price: p.string(),
        description: p.emptyable(p.string()),
        images: p.emptyable(p.array(p.string(), { max: 8 })),
        marketing_features: p.emptyable(p.array(marketingFeature, { max: 15 })),
        metadata: p.metadata(),
        name: p.string(),
        package_dimensions: p.emptyable(packageDimensions),
        shippable: p.bool(),
        statement_descriptor: p.string({ maxLength: 22 }),
        tax_code: p.emptyable(p.string()),
        tax_details: p.any(),
        unit_label: p.emptyable(p.string()),
        url: p.emptyable(p.string()),
      },
      (req) => {
        const { ctx, params } = req;
        const table = ctx.store.of(Products);
        const old = table.require(req.path.id!);
        if (params.default_price !== undefined) {
          const price = ctx.store.of(Prices).require(params.default_price, 'default_price');
          if (price.product !== old.id || !price.active) {
            throw invalidRequest(
              'The default price must be an active price of this product.',
              'default_price',
            );
          }
        }
        const next: Stripe.Product = {
          ...old,
          active: params.active ?? old.active,
          default_price: params.default_price ?? old.default_price,
          description: keepOr(params.description, old.description),
          images: params.images === undefined ? old.images : (params.images ?? []),
          marketing_features:
            params.marketing_features === undefined
              ? old.marketing_features
              : (params.marketing_features ?? []),
          metadata: mergeMetadata(old.metadata, params.metadata),
          name: params.name ?? old.name,
          package_dimensions: keepOr(params.package_dimensions, old.package_dimensions),
          shippable: params.shippable ?? old.shippable,
          statement_descriptor: params.statement_descriptor ?? old.statement_descriptor,
          tax_code: params.tax_code === undefined ? old.tax_code : params.tax_code,
          unit_label: params.unit_label === undefined ? old.unit_label : params.unit_label,
          url: keepOr(params.url, old.url),
        };
        const changes = diff(old, next);
        if (Object.keys(changes).length > 0) next.updated = ctx.clock.now();
        table.replace(next);
        emitEvent(ctx, 'product.updated', next, { previousAttributes: changes });
        return next;
      },
    );

    app.del('/v1/products/:id', {}, (req) => {
      const { ctx } = req;
      const product = ctx.store.of(Products).require(req.path.id!);
      for (const price of ctx.store.of(Prices).values()) {
        if (price.product === product.id) {
          throw invalidRequest(
            'This product cannot be deleted because it has one or more user-created prices.',
            undefined,
            'product_has_prices',
          );
        }
      }
      ctx.store.of(Products).delete(product.id);
      emitEvent(ctx, 'product.deleted', product);
      return { id: product.id, object: 'product', deleted: true };
    });

    app.list(
      '/v1/products',
      {
        active: p.bool(),
        ids: p.array(p.string()),
        shippable: p.bool(),
        type: p.enum(['good', 'service']),
        url: p.string(),
        created: p.range(),
      },
      (req) => {
        const { active, ids, shippable, type, url, created } = req.params;
        const idSet = ids?.length ? new Set(ids) : null;
        const table = req.ctx.store.of(Products);
        const rows = table.sorted(
          (x) =>
            (active === undefined || x.active === active) &&
            (!idSet || idSet.has(x.id)) &&
            (shippable === undefined || x.shippable === shippable) &&
            (!type || x.type === type) &&
            (!url || x.url === url) &&
            inRange(x.created, created),
        );
        return paginate(req, rows, table);
      },
    );
  },
};
