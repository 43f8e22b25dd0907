import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_DEMO_ADMIN_KEY, DEFAULT_DEMO_SESSION_SECRET, loadEnv } from '../src/env.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A production configuration that passes, to be broken one variable at a time. */
const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://tollgate@db.internal:5432/tollgate',
  STRIPE_SECRET_KEY: 'sk_live_0123456789',
  STRIPE_WEBHOOK_SECRETS: 'whsec_one,whsec_two',
  SESSION_SECRET: 'a-real-session-secret-0123456789abcdef',
  PUBLIC_URL: 'https://billing.example.com',
  TOLLGATE_ADMIN_KEY: 'tg_sk_a_real_operator_key_0123456789abcdef',
};

/** The variables loadEnv complains about (the part before the first colon of each problem). */
function problemsOf(source: Record<string, string>): string[] {
  try {
    loadEnv(source);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => p.split(':')[0]!).sort();
  }
  return [];
}

describe('configuration', () => {
  it('with no configuration at all, Tollgate runs in demo mode on embedded defaults', () => {
    const env = loadEnv({});
    expect(env.demo).toBe(true);
    expect(env.NODE_ENV).toBe('development');
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.adminKey).toBe(DEFAULT_DEMO_ADMIN_KEY);
    expect(env.publicUrl).toBe('http://127.0.0.1:4000');
  });

  it('a complete production configuration is accepted and is not demo mode', () => {
    const env = loadEnv(PRODUCTION);
    expect(env.demo).toBe(false);
    expect(env.STRIPE_WEBHOOK_SECRETS).toEqual(['whsec_one', 'whsec_two']);
    expect(env.sessionSecret).toBe(PRODUCTION.SESSION_SECRET);
  });

  it('lists every problem at once, format errors and production requirements together', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://nope',
      JWT_SECRET: 'short',
      STRIPE_SECRET_KEY: 'pk_test_wrong',
    });
    expect(problems).toEqual(
      [
        'DATABASE_URL',
        'JWT_SECRET',
        'LOG_LEVEL',
        'PORT',
        'PUBLIC_URL',
        'SESSION_SECRET',
        'STRIPE_SECRET_KEY',
        'STRIPE_WEBHOOK_SECRETS',
      ].sort(),
    );
  });

  it('production refuses each missing secret by name', () => {
    for (const key of [
      'DATABASE_URL',
      'STRIPE_SECRET_KEY',
      'STRIPE_WEBHOOK_SECRETS',
      'SESSION_SECRET',
      'PUBLIC_URL',
    ] as const) {
      const { [key]: _dropped, ...rest } = PRODUCTION;
      expect(problemsOf(rest), `without ${key}`).toEqual([key]);
      // Empty counts as unset (a blank line in .env).
      expect(problemsOf({ ...PRODUCTION, [key]: '' }), `with empty ${key}`).toEqual([key]);
    }
  });

  it('production refuses demo mode, the demo admin key, the demo session secret and the emulator', () => {
    expect(problemsOf({ ...PRODUCTION, TOLLGATE_DEMO: 'true' })).toEqual(['TOLLGATE_DEMO']);
    expect(problemsOf({ ...PRODUCTION, TOLLGATE_ADMIN_KEY: DEFAULT_DEMO_ADMIN_KEY })).toEqual([
      'TOLLGATE_ADMIN_KEY',
    ]);
    expect(problemsOf({ ...PRODUCTION, SESSION_SECRET: DEFAULT_DEMO_SESSION_SECRET })).toEqual([
      'SESSION_SECRET',
    ]);
    expect(problemsOf({ ...PRODUCTION, STRIPE_API_BASE: 'http://127.0.0.1:12111' })).toEqual([
      'STRIPE_API_BASE',
    ]);
    // The same values are fine outside production.
    expect(
      problemsOf({ TOLLGATE_ADMIN_KEY: DEFAULT_DEMO_ADMIN_KEY, STRIPE_API_BASE: 'http://127.0.0.1:12111' }),
    ).toEqual([]);
  });

  it('process roles and email transport: split roles need Postgres, SMTP needs its URL', () => {
    expect(problemsOf({ TOLLGATE_ROLE: 'worker' })).toEqual(['TOLLGATE_ROLE']);
    expect(problemsOf({ TOLLGATE_ROLE: 'api', DATABASE_URL: 'postgres://db/tollgate' })).toEqual([]);
    expect(problemsOf({ TOLLGATE_ROLE: 'both' })).toEqual(['TOLLGATE_ROLE']);
    expect(problemsOf({ EMAIL_TRANSPORT: 'smtp' })).toEqual(['SMTP_URL']);
    expect(problemsOf({ EMAIL_TRANSPORT: 'smtp', SMTP_URL: 'http://mail' })).toEqual(['SMTP_URL']);
    expect(loadEnv({ EMAIL_TRANSPORT: 'smtp', SMTP_URL: 'smtp://mail:587' }).EMAIL_TRANSPORT).toBe('smtp');
    expect(loadEnv({}).TOLLGATE_ROLE).toBe('all');
  });

  it('`NODE_ENV=production` and nothing else: the server exits non-zero naming every problem', () => {
    const run = spawnSync('npx', ['tsx', 'apps/server/src/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' },
      encoding: 'utf8',
      timeout: 25_000,
    });
    expect(run.error).toBeUndefined();
    expect(run.status).not.toBe(0);
    expect(run.status).not.toBeNull();
    for (const key of [
      'DATABASE_URL',
      'STRIPE_SECRET_KEY',
      'STRIPE_WEBHOOK_SECRETS',
      'SESSION_SECRET',
      'PUBLIC_URL',
    ]) {
      expect(run.stderr).toContain(key);
    }
    expect(run.stdout).not.toContain('Tollgate is running');
  });
});
