import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Stripe's own CLI, installed from npm (`@stripe/cli`); the trigger tests skip without it. */
export const STRIPE_CLI = resolve(import.meta.dirname, '../../../node_modules/.bin/stripe');
export const hasStripeCli = () => existsSync(STRIPE_CLI);

export interface TriggerRun {
  outputs: Map<string, { ok: boolean; output: string }>;
  cleanup(): void;
}

/**
 * Runs `stripe trigger <name> --api-base <url>` for every name, all at once (the fixtures are
 * independent), in a throwaway HOME so no user config, telemetry or update check interferes.
 * A fixture only fails on an unexpected HTTP error; callers then check the emitted events.
 */
export async function runStripeTriggers(apiBase: string, names: string[]): Promise<TriggerRun> {
  const home = mkdtempSync(join(tmpdir(), 'stripe-cli-home-'));
  const outputs = new Map<string, { ok: boolean; output: string }>();
  const cleanup = () => rmSync(home, { recursive: true, force: true });
  if (!hasStripeCli()) return { outputs, cleanup };
  const env = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    STRIPE_API_KEY: 'sk_test_xxxxxxxxxxxx',
    STRIPE_CLI_TELEMETRY_OPTOUT: '1',
    STRIPE_NO_AUTO_UPDATE: '1',
    STRIPE_CLI_NO_PLUGIN_AUTO_INSTALL: '1',
  };
  await Promise.all(
    names.map(async (name) => {
      try {
        const { stdout, stderr } = await run(STRIPE_CLI, ['trigger', name, '--api-base', apiBase], {
          env,
          timeout: 60_000,
        });
        outputs.set(name, { ok: true, output: stdout + stderr });
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        outputs.set(name, { ok: false, output: `${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}` });
      }
    }),
  );
  return { outputs, cleanup };
}
