import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { errorBody } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { listCreditProducts } from './listCreditProducts.ts';
import { listPlans } from './listPlans.ts';

const planPriceView = z
  .object({
    id: z.string(),
    interval: z.enum(['month', 'year']),
    amount: z.number().int().nullable().describe('minor units; null for tiered prices'),
    currency: z.string(),
    model: z.string().describe('flat, per_seat or tiered'),
    lookup_key: z.string().nullable(),
    tiers_mode: z.enum(['graduated', 'volume']).nullable(),
    tiers: z
      .array(
        z.object({
          up_to: z.number().int().nullable().describe('null: and above'),
          unit_amount: z.number().int().nullable(),
          flat_amount: z.number().int().nullable(),
        }),
      )
      .nullable(),
  })
  .meta({ id: 'PlanPrice' });

const planView = z
  .object({
    key: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    rank: z.number().int(),
    trial_days: z.number().int(),
    features: z.record(z.string(), z.union([z.boolean(), z.number(), z.null()])),
    credits_per_period: z.number().int(),
    allow_overage: z.boolean(),
    stripe_product_id: z.string().nullable(),
    prices: z.array(planPriceView),
  })
  .meta({ id: 'Plan' });

const creditPackView = z
  .object({
    key: z.string(),
    name: z.string(),
    credits: z.number().int(),
    amount: z.number().int(),
    currency: z.string(),
    price_id: z.string(),
  })
  .meta({ id: 'CreditPack' });

const meteredAddonView = z
  .object({
    key: z.string(),
    name: z.string(),
    unit_amount_decimal: z.string().describe('per unit, minor units: "0.1" is a tenth of a cent'),
    currency: z.string(),
    interval: z.enum(['month', 'year']),
    meter_event_name: z.string(),
    price_id: z.string(),
  })
  .meta({ id: 'MeteredAddon' });

/** Public: what a pricing page shows. No credentials (the catalog is not secret). */
export function registerCatalogRoutes(app: App, deps: Deps) {
  app.get(
    '/v1/plans',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Plans with features, trial, included credits and live prices (public)',
        security: [],
        response: { 200: z.object({ data: z.array(planView) }), 429: errorBody },
      },
    },
    async () => ({ data: await listPlans(deps) }),
  );

  app.get(
    '/v1/credit-products',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Credit packs and metered add-ons with their prices (public)',
        security: [],
        response: {
          200: z.object({ packs: z.array(creditPackView), metered: z.array(meteredAddonView) }),
          429: errorBody,
        },
      },
    },
    async () => listCreditProducts(deps),
  );
}
