import Stripe from 'stripe';
import { ConfigError, loadEnv } from '../env.ts';
import { CatalogError } from '../modules/catalog/loadCatalog.ts';
import { runCatalogCommand } from './catalogCommand.ts';
import { runSyncCommand } from './syncCommand.ts';

const USAGE = `Usage: tollgate catalog <command> [--json] [--file <path>]
       tollgate sync [--json]
       tollgate reconcile [--json]

Commands:
  push   create or update Stripe products, prices, meters, coupons and promotion codes
         from the catalog file, then record them (with Stripe ids) in the database
  diff   show what push would change; exits 1 when Stripe differs from the catalog
  pull   print a tollgate.config.ts built from what exists in Stripe

  sync       rebuild the billing projection from Stripe: every customer with
             metadata.tollgate_org_id gets its org (created if missing), subscriptions,
             invoices, payments and cards; running it again changes nothing
  reconcile  run one drift check now: sync every linked org, audit what was healed

Options:
  --json         machine-readable output
  --file <path>  catalog file (default: CATALOG_FILE, or tollgate.config.ts at the repository root)

Configuration comes from the environment (docs/configuration.md): STRIPE_SECRET_KEY and
STRIPE_API_BASE; DATABASE_URL or PGLITE_DATA_DIR for push, sync and reconcile.`;

/**
 * Exit codes: 0 ok, 1 drift (diff) or unresolved drift (push), 2 failure (Stripe or database), 64
 * usage, 78 configuration.
 */
async function runCli(argv: string[]): Promise<number> {
  const [group, command, ...rest] = argv;
  if (group === '--help' || group === '-h' || group === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (group === 'sync' || group === 'reconcile') {
    if (!argv.slice(1).every((a) => a === '--json')) {
      console.error(USAGE);
      return 64;
    }
    return withExitCodes(() => runSyncCommand(group, { env: loadEnv(), json: argv.includes('--json') }));
  }
  const json = rest.includes('--json');
  const fileAt = rest.indexOf('--file');
  const file = fileAt >= 0 ? rest[fileAt + 1] : undefined;
  const unknown = rest.filter((a, i) => a !== '--json' && a !== '--file' && i !== fileAt + 1);
  if (
    group !== 'catalog' ||
    (command !== 'push' && command !== 'diff' && command !== 'pull') ||
    unknown.length ||
    (fileAt >= 0 && !file)
  ) {
    console.error(USAGE);
    return 64;
  }
  return withExitCodes(() => runCatalogCommand(command, { env: loadEnv(), json, file }));
}

/** Maps what a command throws to the exit codes above. */
async function withExitCodes(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ConfigError || err instanceof CatalogError) {
      console.error(err.message);
      return 78;
    }
    if (err instanceof Stripe.errors.StripeError) {
      console.error(`Stripe refused or did not answer: ${err.message}`);
      return 2;
    }
    console.error(err);
    return 2;
  }
}

const code = await runCli(process.argv.slice(2));
// Exit explicitly (pooled connections and keep-alive sockets would hold the process open),
// after stdout has drained so piped output is complete.
process.stdout.write('', () => process.exit(code));
