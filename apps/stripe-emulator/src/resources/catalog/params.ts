/**
 * Parameter shapes shared by products and prices (kept apart to avoid an import cycle).
 */
import { p } from '../../http/params.ts';

export const recurringParams = p.object({
  interval: p.required(p.enum(['day', 'week', 'month', 'year'])),
  interval_count: p.int({ min: 1 }),
  usage_type: p.enum(['licensed', 'metered']),
  meter: p.string(),
  trial_period_days: p.int({ min: 0 }),
  aggregate_usage: p.any(),
});

export const tierParams = p.object({
  up_to: p.required(p.union(p.int({ min: 1 }), p.literal('inf'))),
  unit_amount: p.int({ min: 0 }),
  unit_amount_decimal: p.decimal(),
  flat_amount: p.int({ min: 0 }),
  flat_amount_decimal: p.decimal(),
});

/** Everything that defines what a price charges; shared with product default_price_data. */
export const priceDataShape = {
  currency: p.required(p.currency()),
  unit_amount: p.int({ min: 0 }),
  unit_amount_decimal: p.decimal(),
  recurring: recurringParams,
  tax_behavior: p.enum(['exclusive', 'inclusive', 'unspecified']),
  metadata: p.metadata(),
  currency_options: p.any(),
  custom_unit_amount: p.object({
    enabled: p.required(p.bool()),
    maximum: p.int(),
    minimum: p.int(),
    preset: p.int(),
  }),
};

/** Inline product on price create (`product_data`). */
export const productDataParams = p.object({
  name: p.required(p.string()),
  active: p.bool(),
  id: p.string(),
  metadata: p.metadata(),
  statement_descriptor: p.string({ maxLength: 22 }),
  tax_code: p.string(),
  unit_label: p.string(),
  tax_details: p.any(),
});
