import { z } from 'zod';

/**
 * The plan catalog, kept as code in `tollgate.config.ts` and validated at start. Money is integer
 * minor units; only metered prices, which Stripe allows below one cent, use a decimal string
 * (`unitAmountDecimal`, in minor units: "0.1" is a tenth of a cent).
 */
const key = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,47}$/, 'lowercase letters, digits and _; starts with a letter');
const money = z.number().int().min(0);
const decimalMinor = z.string().regex(/^\d+(\.\d{1,12})?$/, 'a decimal amount in minor units, e.g. "0.1"');

const tier = z
  .object({
    upTo: z.union([z.number().int().positive(), z.literal('inf')]),
    unitAmount: money.optional(),
    flatAmount: money.optional(),
  })
  .strict()
  .refine(
    (t) => t.unitAmount !== undefined || t.flatAmount !== undefined,
    'a tier needs unitAmount or flatAmount',
  );

export const priceSpecSchema = z.discriminatedUnion('model', [
  z.object({ model: z.literal('flat'), amount: money }).strict(),
  /** Charged per seat (subscription quantity). */
  z
    .object({
      model: z.literal('per_seat'),
      amount: money,
      minSeats: z.number().int().min(1).default(1),
      maxSeats: z.number().int().positive().optional(),
    })
    .strict(),
  z
    .object({
      model: z.literal('tiered'),
      mode: z.enum(['graduated', 'volume']),
      tiers: z.array(tier).min(1),
    })
    .strict()
    .refine((p) => p.tiers.at(-1)?.upTo === 'inf', 'the last tier must have upTo: "inf"'),
]);

export const featureSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('boolean'), name: z.string().min(1) }).strict(),
  z.object({ type: z.literal('limit'), name: z.string().min(1), unit: z.string().optional() }).strict(),
]);

export const planSchema = z
  .object({
    key,
    name: z.string().min(1),
    description: z.string().optional(),
    /** No prices: a free plan, which needs no Stripe subscription. */
    prices: z
      .object({ month: priceSpecSchema.optional(), year: priceSpecSchema.optional() })
      .strict()
      .default({}),
    trialDays: z.number().int().min(0).max(730).default(0),
    /** Feature key → true/false (boolean features) or a number / null for unlimited (limit features). */
    features: z.record(key, z.union([z.boolean(), z.number().int().min(0), z.null()])).default({}),
    credits: z
      .object({ perPeriod: z.number().int().min(0), allowOverage: z.boolean().default(false) })
      .strict()
      .default({ perPeriod: 0, allowOverage: false }),
    /** Order of plans for upgrade/downgrade decisions (higher = better). */
    rank: z.number().int(),
  })
  .strict();

export const creditPackSchema = z
  .object({
    key,
    name: z.string().min(1),
    credits: z.number().int().positive(),
    amount: money.refine((a) => a > 0, 'must be > 0'),
  })
  .strict();

export const meteredAddonSchema = z
  .object({
    key,
    name: z.string().min(1),
    /** Per unit, minor units as a decimal string: "5" = $0.05, "0.1" = $0.001. */
    unitAmountDecimal: decimalMinor,
    meterEventName: z.string().regex(/^[a-z][a-z0-9_]{0,99}$/),
  })
  .strict();

/** The key and event name credit overage is metered under (the ledger writes these rows). */
export const CREDIT_OVERAGE_KEY = 'credit_overage';
export const CREDIT_OVERAGE_EVENT = 'tollgate_credit_overage';

/**
 * What one credit consumed beyond the balance costs on plans with `allowOverage`: pushed as a
 * metered price (product `tg_metered_credit_overage`, its own billing meter) like an add-on.
 */
export const creditOverageSchema = z
  .object({
    name: z.string().min(1).default('Credit overage'),
    /** Per credit, minor units as a decimal string: "1" = $0.01. */
    unitAmountDecimal: decimalMinor,
    meterEventName: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,99}$/)
      .default(CREDIT_OVERAGE_EVENT),
  })
  .strict();

export const couponSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,60}$/),
    name: z.string().optional(),
    percentOff: z.number().positive().max(100).optional(),
    amountOff: money.optional(),
    duration: z.enum(['once', 'repeating', 'forever']),
    durationInMonths: z.number().int().positive().optional(),
    promotionCodes: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,60}$/)).default([]),
  })
  .strict()
  .refine(
    (c) => (c.percentOff === undefined) !== (c.amountOff === undefined),
    'give exactly one of percentOff or amountOff',
  )
  .refine(
    (c) => (c.duration === 'repeating') === (c.durationInMonths !== undefined),
    'durationInMonths goes with duration "repeating" only',
  );

export const catalogSchema = z
  .object({
    currency: z.string().regex(/^[a-z]{3}$/, 'ISO currency, lowercase'),
    features: z.record(key, featureSchema).default({}),
    /** Credit cost of one usage event, e.g. { api_call_basic: 1, ai_inference: 25 }. */
    usageEvents: z.record(key, z.number().int().positive()).default({}),
    creditPrecedence: z.enum(['purchased_first', 'expiring_first']).default('purchased_first'),
    plans: z.array(planSchema).min(1),
    creditPacks: z.array(creditPackSchema).default([]),
    meteredAddons: z.array(meteredAddonSchema).default([]),
    creditOverage: creditOverageSchema.optional(),
    coupons: z.array(couponSchema).default([]),
    portal: z
      .object({
        allowPlanSwitch: z.boolean().default(true),
        cancellation: z.enum(['at_period_end', 'immediately', 'disabled']).default('at_period_end'),
      })
      .strict()
      .default({ allowPlanSwitch: true, cancellation: 'at_period_end' }),
  })
  .strict()
  .superRefine((c, ctx) => {
    const dup = (list: string[], path: string) => {
      const seen = new Set<string>();
      list.forEach((k, i) => {
        if (seen.has(k)) ctx.addIssue({ code: 'custom', path: [path, i], message: `duplicate key "${k}"` });
        seen.add(k);
      });
    };
    dup(
      c.plans.map((p) => p.key),
      'plans',
    );
    dup(
      c.creditPacks.map((p) => p.key),
      'creditPacks',
    );
    dup(
      c.meteredAddons.map((p) => p.key),
      'meteredAddons',
    );
    dup(
      c.coupons.map((p) => p.id),
      'coupons',
    );
    dup(
      c.meteredAddons.map((a) => a.meterEventName),
      'meteredAddons',
    );
    c.meteredAddons.forEach((a, i) => {
      if (a.key === CREDIT_OVERAGE_KEY)
        ctx.addIssue({
          code: 'custom',
          path: ['meteredAddons', i, 'key'],
          message: `"${CREDIT_OVERAGE_KEY}" is reserved: configure it as creditOverage`,
        });
      if (a.meterEventName === c.creditOverage?.meterEventName)
        ctx.addIssue({
          code: 'custom',
          path: ['meteredAddons', i, 'meterEventName'],
          message: 'already used by creditOverage',
        });
    });
    // Stripe treats promotion codes case-insensitively.
    c.coupons.forEach((coupon, i) => {
      const others = c.coupons.slice(0, i).flatMap((o) => o.promotionCodes.map((x) => x.toLowerCase()));
      coupon.promotionCodes.forEach((code, j) => {
        const lower = code.toLowerCase();
        if (
          others.includes(lower) ||
          coupon.promotionCodes.slice(0, j).some((x) => x.toLowerCase() === lower)
        )
          ctx.addIssue({
            code: 'custom',
            path: ['coupons', i, 'promotionCodes', j],
            message: `duplicate promotion code "${code}"`,
          });
      });
    });
    c.plans.forEach((p, i) => {
      for (const [interval, spec] of Object.entries(p.prices)) {
        const at = ['plans', i, 'prices', interval];
        if (spec?.model === 'per_seat' && spec.maxSeats !== undefined && spec.maxSeats < spec.minSeats)
          ctx.addIssue({ code: 'custom', path: [...at, 'maxSeats'], message: 'must be >= minSeats' });
        if (spec?.model === 'tiered')
          spec.tiers.forEach((t, j) => {
            const prev = spec.tiers[j - 1]?.upTo;
            if (j > 0 && (prev === 'inf' || (t.upTo !== 'inf' && prev !== undefined && t.upTo <= prev)))
              ctx.addIssue({
                code: 'custom',
                path: [...at, 'tiers', j, 'upTo'],
                message: 'tiers must be in increasing upTo order, "inf" last',
              });
          });
      }
      for (const [f, v] of Object.entries(p.features)) {
        const def = c.features[f];
        if (!def)
          ctx.addIssue({
            code: 'custom',
            path: ['plans', i, 'features', f],
            message: `unknown feature "${f}"`,
          });
        else if (def.type === 'boolean' && typeof v !== 'boolean')
          ctx.addIssue({
            code: 'custom',
            path: ['plans', i, 'features', f],
            message: 'boolean feature needs true/false',
          });
        else if (def.type === 'limit' && typeof v === 'boolean')
          ctx.addIssue({
            code: 'custom',
            path: ['plans', i, 'features', f],
            message: 'limit feature needs a number or null',
          });
      }
    });
  });

export type CatalogInput = z.input<typeof catalogSchema>;
export type Catalog = z.output<typeof catalogSchema>;
export type Plan = Catalog['plans'][number];
export type PriceSpec = z.output<typeof priceSpecSchema>;
export type Interval = 'month' | 'year';

/** Typed helper for tollgate.config.ts; validation happens at load time. */
export const defineCatalog = (c: CatalogInput): CatalogInput => c;

/** Stable lookup keys: what `catalog push` matches Stripe prices by. */
export const lookupKeys = {
  plan: (plan: string, interval: Interval) => `tg_${plan}_${interval === 'month' ? 'monthly' : 'yearly'}`,
  pack: (pack: string) => `tg_pack_${pack}`,
  metered: (addon: string) => `tg_metered_${addon}`,
};
