import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createClock } from '../../apps/server/src/clock.ts';
import { migrate } from '../../apps/server/src/db/migrate.ts';
import { loadEnv } from '../../apps/server/src/env.ts';
import { createLogger } from '../../apps/server/src/http/logger.ts';
import { systemAudit } from '../../apps/server/src/modules/audit/recordAudit.ts';
import {
  afterBalanceChange,
  type BalanceChange,
} from '../../apps/server/src/modules/credit-alerts/afterBalanceChange.ts';
import { createOrg } from '../../apps/server/src/modules/orgs/createOrg.ts';
import { openBenchDatabase } from '../benchDatabase.ts';

const ORGS = Number(process.env.BENCH_ORGS ?? 1_000);
const TOTAL = Number(process.env.BENCH_TOTAL ?? 200_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 1);
const POOL = Number(process.env.BENCH_POOL ?? 20);
const TARGET_P99_MS = 0.05;

const bench = await openBenchDatabase(POOL);
const { database, label: dbLabel } = bench;

try {
  await run();
} finally {
  await bench.close();
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function timed(calls: (() => Promise<unknown>)[], concurrency: number) {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls.length) {
        const call = calls[next++]!;
        const t0 = performance.now();
        await call();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    rate: calls.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

function fmt(r: { rate: number; p50: number; p99: number }) {
  return `${Math.round(r.rate).toLocaleString('en-US')}/s  p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms`;
}

async function run() {
  await migrate(database);
  const env = loadEnv({ NODE_ENV: 'development', TOLLGATE_DEMO: 'false', LOG_LEVEL: 'silent' });
  const deps = { env, database, clock: createClock(), logger: createLogger('silent') };
  console.log(
    `machine   ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(`database  ${dbLabel}`);

  const orgIds: string[] = [];
  for (let i = 0; i < ORGS; i++) {
    const org = await createOrg(deps, systemAudit(), {
      name: `Bench ${i}`,
      billingEmail: `b${i}@bench.test`,
    });
    orgIds.push(org.id);
  }
  // Fixture rows (the ledger is not part of this benchmark): a balance and the settings.
  await database.query(`INSERT INTO credit_accounts (org_id, balance) SELECT unnest($1::text[]), 1000000`, [
    orgIds,
  ]);
  await database.query(
    `INSERT INTO credit_settings (org_id, low_balance_threshold, unusual_usage_factor)
     SELECT unnest($1::text[]), 100, 3`,
    [orgIds],
  );
  const at = new Date();
  const steady = (i: number): BalanceChange => ({
    orgId: orgIds[i % ORGS]!,
    before: 1_000_000 - i,
    after: 999_999 - i,
    consumed: 1,
    at,
  });

  // Warm-up: fills the settings cache and runs each org's once-a-minute unusual-usage check.
  await timed(
    orgIds.map((_, i) => () => afterBalanceChange(deps, [steady(i)])),
    CONCURRENCY,
  );
  const hot = await timed(
    Array.from({ length: TOTAL }, (_, i) => () => afterBalanceChange(deps, [steady(i)])),
    CONCURRENCY,
  );
  console.log(`no crossing, ${ORGS} orgs, ${TOTAL} calls, C=${CONCURRENCY}:  ${fmt(hot)}`);

  await database.query(`UPDATE credit_accounts SET balance = 50`);
  const crossing = await timed(
    orgIds.map(
      (orgId) => () => afterBalanceChange(deps, [{ orgId, before: 150, after: 50, consumed: 100, at }]),
    ),
    Math.min(16, POOL),
  );
  const alerts = await database.query<{ n: number }>(`SELECT count(*)::int AS n FROM credit_alerts`);
  console.log(`crossing (one alert per org: ${alerts[0]?.n} alerts):  ${fmt(crossing)}`);

  const raw = await timed(
    orgIds.map(
      (orgId) => () =>
        database.query(
          `UPDATE credit_settings SET low_balance_alerted = NOT low_balance_alerted WHERE org_id = $1
             AND (SELECT balance FROM credit_accounts WHERE org_id = $1) < 100`,
          [orgId],
        ),
    ),
    Math.min(16, POOL),
  );
  console.log(`raw ceiling (the conditional UPDATE alone, autocommit):  ${fmt(raw)}`);
  console.log(
    `target    no-crossing p99 <= ${TARGET_P99_MS} ms: ${hot.p99 <= TARGET_P99_MS ? 'met' : 'NOT met'} (${hot.p99.toFixed(3)} ms)`,
  );
}
