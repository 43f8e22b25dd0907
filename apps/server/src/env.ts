import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * The one configuration schema. Parsed once at start (`loadEnv`); nothing else reads process.env.
 * Every problem is reported at once so an operator fixes a deployment in one pass.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const csv = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

export const DEFAULT_DEMO_ADMIN_KEY = 'tg_sk_platform_demo_0000000000000000000000';
export const DEFAULT_DEMO_SESSION_SECRET = 'demo-session-secret-change-me-0000000000';

export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(4000),
    PUBLIC_URL: z.url().optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    /** Demo mode: embedded emulator, demo data, dev sign-in page. Defaults on outside production. */
    TOLLGATE_DEMO: bool.optional(),

    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    /** PGlite data directory when DATABASE_URL is unset; `memory://` keeps it in memory. */
    PGLITE_DATA_DIR: z.string().default('.tollgate/pglite'),

    STRIPE_SECRET_KEY: z
      .string()
      .regex(/^(sk|rk)_(test|live)_/, 'must start with sk_test_, sk_live_ or rk_')
      .optional(),
    STRIPE_PUBLISHABLE_KEY: z
      .string()
      .regex(/^pk_(test|live)_/, 'must start with pk_test_ or pk_live_')
      .optional(),
    STRIPE_WEBHOOK_SECRETS: csv.optional(),
    /** Base URL of a Stripe-compatible API (the emulator). Unset = api.stripe.com. */
    STRIPE_API_BASE: z.url().optional(),
    EMULATOR_PORT: z.coerce.number().int().min(0).max(65535).default(12111),
    /** Demo mode: the embedded emulator's state file, so a demo survives restarts. */
    EMULATOR_STATE_FILE: z.string().default('.tollgate/stripe-emulator.json'),

    /** The plan catalog (`tollgate catalog push`, demo start). Relative paths: from the working directory. */
    CATALOG_FILE: z.string().default(fileURLToPath(new URL('../../../tollgate.config.ts', import.meta.url))),

    /** Seller block on Tollgate's invoice PDFs; unset name = the Stripe account's name, else "Tollgate". */
    INVOICE_SELLER_NAME: z.string().max(200).optional(),
    /** Seller address lines on invoice PDFs, separated by `|` ("1 Main St|Dublin D02|Ireland"). */
    INVOICE_SELLER_ADDRESS: z
      .string()
      .max(500)
      .transform((v) =>
        v
          .split('|')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .optional(),
    INVOICE_SELLER_TAX_ID: z.string().max(60).optional(),

    TOLLGATE_ADMIN_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
    SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),

    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    JWT_JWKS_URL: z.url().optional(),
    JWT_ISSUER: z.string().optional(),
    JWT_AUDIENCE: z.string().optional(),
    JWT_CLAIM_USER_ID: csv.default(['sub']),
    JWT_CLAIM_EMAIL: csv.default(['email']),
    JWT_CLAIM_ORG_ID: csv.default(['org_id', 'o.id']),
    JWT_CLAIM_ORG_ROLE: csv.default(['org_role', 'o.rol']),

    CORS_ORIGINS: csv.default([]),
    /** Redirect targets (checkout success/cancel, portal return) must start with one of these. */
    ALLOWED_REDIRECT_ORIGINS: csv.default([]),
    RATE_LIMIT_PER_KEY_PER_MINUTE: z.coerce.number().int().min(1).default(600_000),
    RATE_LIMIT_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).default(1_200),
    BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
    /** Days a past-due org keeps access before it is restricted. */
    GRACE_PERIOD_DAYS: z.coerce.number().int().min(0).max(60).default(7),
    /** Failed applications of one Stripe event before it is dead-lettered. */
    STRIPE_EVENT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
    /** Drift check between the projection and Stripe (minutes; 0 = off). */
    RECONCILE_INTERVAL_MINUTES: z.coerce.number().int().min(0).default(60),
    WORKER_CONCURRENCY: z.coerce.number().int().min(0).max(64).default(4),
    WORKER_POLL_INTERVAL_MS: z.coerce.number().int().min(10).default(1000),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
    /** Safety TTL of the per-process entitlement cache (changes invalidate it as they commit). */
    ENTITLEMENTS_CACHE_TTL_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
    /** What this process runs: `api` (HTTP only), `worker` (jobs + Stripe inbox, no HTTP) or `all`. */
    TOLLGATE_ROLE: z.enum(['api', 'worker', 'all']).default('all'),
    /**
     * How long a worker's claim on a job or a Stripe event lasts before another worker may take it
     * over (the first one crashed). Running jobs extend theirs; keep it well above a handler's run time.
     */
    WORKER_LOCK_SECONDS: z.coerce.number().int().min(1).max(3_600).default(60),
    /** How billing emails leave: `log` (printed), `file` (.eml files in EMAIL_DIR) or `smtp` (SMTP_URL). */
    EMAIL_TRANSPORT: z.enum(['log', 'file', 'smtp']).default('log'),
    EMAIL_FROM: z.string().min(3).default('Tollgate Billing <billing@tollgate.localhost>'),
    EMAIL_DIR: z.string().default('.tollgate/emails'),
    /** smtp://user:pass@host:587 or smtps://host:465 (nodemailer's connection URL). */
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
      .optional(),
  })
  .superRefine(
    (env, ctx) => {
      // Runs even when fields above failed (`when` below), so production gaps are listed together
      // with format errors; a field that failed to parse still holds its raw value here.
      const demo = typeof env.TOLLGATE_DEMO === 'boolean' ? env.TOLLGATE_DEMO : env.NODE_ENV !== 'production';
      if (env.EMAIL_TRANSPORT === 'smtp' && !env.SMTP_URL)
        ctx.addIssue({ code: 'custom', path: ['SMTP_URL'], message: 'required when EMAIL_TRANSPORT=smtp' });
      if ((env.TOLLGATE_ROLE === 'api' || env.TOLLGATE_ROLE === 'worker') && !env.DATABASE_URL)
        ctx.addIssue({
          code: 'custom',
          path: ['TOLLGATE_ROLE'],
          message:
            'api and worker processes share a PostgreSQL server: set DATABASE_URL (PGlite belongs to one process)',
        });
      if (env.NODE_ENV !== 'production') return;
      const need = (key: keyof typeof env, why: string) => {
        if (!env[key])
          ctx.addIssue({ code: 'custom', path: [key], message: `required in production: ${why}` });
      };
      if (demo)
        ctx.addIssue({
          code: 'custom',
          path: ['TOLLGATE_DEMO'],
          message: 'demo mode is refused in production',
        });
      need('DATABASE_URL', 'production runs on a PostgreSQL server');
      need('STRIPE_SECRET_KEY', 'Tollgate cannot bill without Stripe');
      need('STRIPE_WEBHOOK_SECRETS', 'webhooks must be verified');
      need('SESSION_SECRET', 'signs dashboard sessions');
      need('PUBLIC_URL', 'links in emails and dashboard sign-in URLs');
      if (env.TOLLGATE_ADMIN_KEY === DEFAULT_DEMO_ADMIN_KEY)
        ctx.addIssue({
          code: 'custom',
          path: ['TOLLGATE_ADMIN_KEY'],
          message: 'the demo admin key is refused in production',
        });
      if (env.SESSION_SECRET === DEFAULT_DEMO_SESSION_SECRET)
        ctx.addIssue({
          code: 'custom',
          path: ['SESSION_SECRET'],
          message: 'the demo session secret is refused in production',
        });
      if (env.STRIPE_API_BASE)
        ctx.addIssue({
          code: 'custom',
          path: ['STRIPE_API_BASE'],
          message: 'the emulator is refused in production',
        });
    },
    { when: () => true },
  );

type RawEnv = z.output<typeof envSchema>;
export type Env = RawEnv & {
  demo: boolean;
  publicUrl: string;
  sessionSecret: string;
  adminKey: string | undefined;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once. Empty strings count as unset so `.env` files can leave blanks. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const env = parsed.data;
  const demo = env.TOLLGATE_DEMO ?? env.NODE_ENV !== 'production';
  return {
    ...env,
    demo,
    publicUrl: (
      env.PUBLIC_URL ?? `http://${env.HOST === '0.0.0.0' ? '127.0.0.1' : env.HOST}:${env.PORT}`
    ).replace(/\/$/, ''),
    sessionSecret: env.SESSION_SECRET ?? DEFAULT_DEMO_SESSION_SECRET,
    adminKey: env.TOLLGATE_ADMIN_KEY ?? (demo ? DEFAULT_DEMO_ADMIN_KEY : undefined),
  };
}
