import { createClock } from '../clock.ts';
import { createDatabase } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import type { Env } from '../env.ts';
import { createLogger } from '../http/logger.ts';
import { runDriftCheck } from '../modules/reconciliation/runDriftCheck.ts';
import { syncAll } from '../modules/reconciliation/syncAll.ts';
import type { OrgSyncSummary } from '../modules/reconciliation/syncOrgFromStripe.ts';
import { stripeFor } from './catalogCommand.ts';

function line(s: OrgSyncSummary & { created?: boolean }) {
  if (s.skipped) return `${s.orgId}  skipped: ${s.skipped}`;
  const counts = Object.entries(s.seen)
    .map(([k, n]) => `${n} ${k.replace('_', ' ')}`)
    .join(', ');
  const byKind = new Map<string, number>();
  for (const d of s.differences) byKind.set(d.kind, (byKind.get(d.kind) ?? 0) + 1);
  const diffs = byKind.size ? [...byKind].map(([k, n]) => `${k} ${n}`).join(', ') : 'no differences';
  return `${s.orgId}${s.created ? ' (created)' : ''}  ${s.customerId}  Stripe: ${counts}  changed: ${diffs}`;
}

/**
 * `tollgate sync` (rebuild the projection from Stripe) and `tollgate reconcile` (one drift check
 * now). Exit 0 on success, 2 on Stripe/database failure (thrown and handled by the CLI entry, or
 * an org reconcile could not sync).
 */
export async function runSyncCommand(command: 'sync' | 'reconcile', opts: { env: Env; json: boolean }) {
  const { env, json } = opts;
  const stripe = stripeFor(env, `tollgate ${command}`);
  const database = await createDatabase({
    url: env.DATABASE_URL,
    pgliteDataDir: env.PGLITE_DATA_DIR,
    poolSize: 2,
  });
  try {
    await migrate(database);
    const deps = { env, stripe, database, clock: createClock(), logger: createLogger('warn') };
    if (command === 'sync') {
      const result = await syncAll(deps);
      if (json) console.log(JSON.stringify(result, null, 2));
      else {
        for (const s of result.orgs) console.log(line(s));
        for (const c of result.conflicts)
          console.log(`${c.orgId}  not linked to ${c.customerId}: ${c.reason}`);
        const changed = result.orgs.reduce((n, s) => n + s.differences.length, 0);
        console.log(`\nSynced ${result.orgs.length} org(s) from Stripe; ${changed} projection change(s).`);
      }
      return 0;
    }
    const result = await runDriftCheck(deps);
    if (json) console.log(JSON.stringify(result, null, 2));
    else {
      for (const s of result.summaries) if (s.differences.length) console.log(line(s));
      for (const f of result.failed) console.log(`${f.orgId}  failed: ${f.error}`);
      console.log(`\nChecked ${result.orgs} org(s); healed ${result.healed} difference(s).`);
    }
    return result.failed.length ? 2 : 0;
  } finally {
    await database.close();
  }
}
