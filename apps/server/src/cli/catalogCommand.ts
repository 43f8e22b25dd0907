import { createClock } from '../clock.ts';
import { createDatabase } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { ConfigError, type Env } from '../env.ts';
import { type CatalogChange, formatChangesTable } from '../modules/catalog/changes.ts';
import { diffCatalog } from '../modules/catalog/diffCatalog.ts';
import { loadCatalog } from '../modules/catalog/loadCatalog.ts';
import { pullCatalog, renderCatalogFile } from '../modules/catalog/pullCatalog.ts';
import { pushCatalog } from '../modules/catalog/pushCatalog.ts';
import { DEMO_STRIPE_SECRET_KEY } from '../modules/demo/startDemoEmulator.ts';
import { createStripeClient } from '../stripe/createStripeClient.ts';

export interface CatalogCommandOptions {
  env: Env;
  json: boolean;
  file: string | undefined;
}

/** Drops the bulky request parameters from --json output; action, target and detail say it all. */
const summary = (changes: CatalogChange[]) =>
  changes.map(({ action, target, detail }) => ({ action, target, detail }));

export function stripeFor(env: Env, command = 'tollgate catalog') {
  if (env.STRIPE_SECRET_KEY)
    return createStripeClient({ secretKey: env.STRIPE_SECRET_KEY, apiBase: env.STRIPE_API_BASE });
  // Demo mode without Stripe settings: the emulator a running `npm start` embeds.
  if (env.demo && !env.STRIPE_API_BASE) {
    const apiBase = `http://127.0.0.1:${env.EMULATOR_PORT}`;
    console.error(`(demo mode: using the embedded Stripe emulator at ${apiBase})`);
    return createStripeClient({ secretKey: DEMO_STRIPE_SECRET_KEY, apiBase });
  }
  throw new ConfigError([`STRIPE_SECRET_KEY: required for ${command}`]);
}

export async function runCatalogCommand(
  command: 'push' | 'diff' | 'pull',
  opts: CatalogCommandOptions,
): Promise<number> {
  const { env, json } = opts;
  const stripe = stripeFor(env);

  if (command === 'pull') {
    const { catalog, notes } = await pullCatalog(stripe);
    if (json) console.log(JSON.stringify({ catalog, notes }, null, 2));
    else {
      process.stdout.write(renderCatalogFile(catalog, './apps/server/src/modules/catalog/catalogSchema.ts'));
      for (const n of notes) console.error(`note: ${n}`);
    }
    return 0;
  }

  const catalog = await loadCatalog(opts.file ?? env.CATALOG_FILE);
  if (command === 'diff') {
    const { drift, changes } = await diffCatalog(stripe, catalog);
    if (json) console.log(JSON.stringify({ drift, changes: summary(changes) }, null, 2));
    else console.log(formatChangesTable(changes));
    return drift ? 1 : 0;
  }

  const database = await createDatabase({
    url: env.DATABASE_URL,
    pgliteDataDir: env.PGLITE_DATA_DIR,
    poolSize: 2,
  });
  try {
    await migrate(database);
    const result = await pushCatalog({ stripe, database, clock: createClock() }, catalog);
    const needsPerson = result.reported.filter((c) => c.action === 'drift');
    if (json)
      console.log(
        JSON.stringify(
          {
            applied: summary(result.applied),
            reported: summary(result.reported),
            remaining: summary(result.remaining),
          },
          null,
          2,
        ),
      );
    else {
      console.log(formatChangesTable([...result.applied, ...result.reported]));
      if (result.applied.length)
        console.log(`\nApplied ${result.applied.length} change(s); database updated.`);
      if (needsPerson.length)
        console.log(`\n${needsPerson.length} difference(s) need a catalog change (see drift above).`);
      if (result.remaining.length)
        console.log('\nStripe still differs after the push; run `tollgate catalog diff`.');
    }
    return needsPerson.length || result.remaining.length ? 1 : 0;
  } finally {
    await database.close();
  }
}
