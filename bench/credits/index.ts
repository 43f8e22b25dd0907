import { writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { withOrgTx } from '../../apps/server/src/db/tx.ts';
import { createApiKey } from '../../apps/server/src/modules/api-keys/createApiKey.ts';
import { systemAudit } from '../../apps/server/src/modules/audit/recordAudit.ts';
import {
  CONSUME_QUEUE_DEFAULTS,
  consumeCredits,
  requestHash,
} from '../../apps/server/src/modules/credits/consumeCredits.ts';
import { runConsume } from '../../apps/server/src/modules/credits/consumeQueue.ts';
import { grantCredits, newConsumptionId } from '../../apps/server/src/modules/credits/ledger.ts';
import { createOrg } from '../../apps/server/src/modules/orgs/createOrg.ts';
import { machineLine, startBenchApp } from '../benchApp.ts';
import { openBenchDatabase, rawDriver } from '../benchDatabase.ts';
import { runChildClient } from '../childClient.ts';
import { closedLoop, type RunResult, summarize } from '../webhooks/load.ts';

const ORGS = Number(process.env.BENCH_ORGS ?? 1_000);
const TOTAL = Number(process.env.BENCH_TOTAL ?? 20_000);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '16,24,64').split(',').map(Number);
const POOL = Number(process.env.BENCH_POOL ?? 20);
/** Group-commit flushes in flight (default: the server's own, CONSUME_QUEUE_DEFAULTS). */
if (process.env.BENCH_FLUSHES)
  CONSUME_QUEUE_DEFAULTS.postgres.maxInFlight = Number(process.env.BENCH_FLUSHES);
const TIME_LIMIT_MS = 60_000;
/** `BENCH_ONLY=http` skips the in-process and raw-SQL rows (for quick tuning runs). */
const HTTP_ONLY = process.env.BENCH_ONLY === 'http';
/** `BENCH_MODES=spread` or `hot` runs one pattern over HTTP (default both). */
const MODES = (process.env.BENCH_MODES ?? 'spread,hot').split(',');
const TARGETS = { spread: 5_000, hot: 2_500 };
const TARGET_P99_MS = 10;

const bench = await openBenchDatabase(POOL);
const { database, label: dbLabel } = bench;

try {
  await run();
} finally {
  await bench.close();
}

interface Row {
  what: string;
  c: number;
  r: RunResult | ClientResult;
}

async function run() {
  const server = await startBenchApp(bench, {
    poolSize: POOL,
    env: { RATE_LIMIT_PER_IP_PER_MINUTE: '100000000', RATE_LIMIT_PER_KEY_PER_MINUTE: '100000000' },
  });
  // Tuning experiments only: SQL run after the migrations (e.g. to try a schema change).
  if (process.env.BENCH_SQL) await database.query(process.env.BENCH_SQL);
  const { deps, port } = server;

  console.log(machineLine());
  console.log(`database  ${dbLabel}`);
  console.log(
    `server    Tollgate in this process on http://127.0.0.1:${port}; load client in a child process`,
  );

  // ---------------------------------------------------------------- seed
  const t0 = Date.now();
  const orgs: { id: string; key: string }[] = [];
  for (let i = 0; i < ORGS; i += 20) {
    const chunk = await Promise.all(
      Array.from({ length: Math.min(20, ORGS - i) }, async (_, j) => {
        const org = await createOrg(deps, systemAudit(), { name: `Bench ${i + j}` });
        const key = await createApiKey(deps, systemAudit(), org.id, 'bench');
        await withOrgTx(database, org.id, (tx) =>
          grantCredits(
            tx,
            {
              orgId: org.id,
              source: 'pack',
              amount: 1_000_000_000,
              expiresAt: null,
              causeKey: `bench:${org.id}`,
            },
            deps.clock.now(),
          ),
        );
        return { id: org.id, key: key.secret };
      }),
    );
    orgs.push(...chunk);
  }
  console.log(
    `seeded    ${ORGS} orgs with a key and 1e9 pack credits each in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  const orgsFile = `${tmpdir()}/tollgate-bench-credits-${process.pid}.json`;
  writeFileSync(orgsFile, JSON.stringify(orgs));

  const rows: Row[] = [];
  // Warm-up: every org once (API key cache, free-plan check), then a little of each pattern.
  await clientProcess(port, orgsFile, 'warm', ORGS, 16);
  await clientProcess(port, orgsFile, 'spread', 2_000, 16);

  // ---------------------------------------------------------------- HTTP
  for (const c of CONCURRENCY) {
    if (MODES.includes('spread'))
      rows.push({
        what: `HTTP consume, spread over ${ORGS} orgs`,
        c,
        r: await clientProcess(port, orgsFile, 'spread', TOTAL, c),
      });
    if (MODES.includes('hot'))
      rows.push({
        what: 'HTTP consume, one hot org',
        c,
        r: await clientProcess(port, orgsFile, 'hot', TOTAL, c),
      });
  }
  if (HTTP_ONLY) {
    await server.close();
    report(rows);
    return;
  }

  // ---------------------------------------------------------------- without HTTP
  const hot = orgs[0]!;
  const pick = (i: number, spread: boolean) => (spread ? orgs[(i * 7919) % orgs.length]! : hot);
  for (const c of CONCURRENCY) {
    for (const spread of [true, false]) {
      const r = await closedLoop(TOTAL, c, TIME_LIMIT_MS, async (i) => {
        const org = pick(i, spread);
        await consumeCredits(
          deps,
          org.id,
          [{ event: 'api_call_basic', quantity: 1, idempotencyKey: `gc${spread}${i}` }],
          { batch: false },
        );
        return true;
      });
      rows.push({ what: `consumeCredits (group commit, no HTTP), ${spread ? 'spread' : 'hot'}`, c, r });
    }
  }
  // One request per statement: the ledger function on its own (what no batching could at best do).
  for (const c of CONCURRENCY) {
    for (const spread of [true, false]) {
      const r = await closedLoop(TOTAL, c, TIME_LIMIT_MS, async (i) => {
        const org = pick(i, spread);
        const input = { event: 'api_call_basic', quantity: 1, idempotencyKey: `one${spread}${i}` };
        const [res] = await runConsume(
          database,
          [
            {
              o: org.id,
              items: [
                {
                  id: newConsumptionId(),
                  k: input.idempotencyKey,
                  h: requestHash(input),
                  e: input.event,
                  q: 1,
                  c: 1,
                  m: {},
                },
              ],
            },
          ],
          'purchased_first',
          deps.clock.now(),
        );
        return !res!.error;
      });
      rows.push({ what: `ledger function, 1 request/statement, ${spread ? 'spread' : 'hot'}`, c, r });
    }
  }

  // ---------------------------------------------------------------- raw SQL ceiling
  const raw = rawDriver(bench, POOL);
  await raw.query(`UPDATE credit_accounts SET balance = balance + 100000000`, []);
  for (const c of CONCURRENCY) {
    for (const spread of [true, false]) {
      const r = await closedLoop(TOTAL, c, TIME_LIMIT_MS, async (i) => {
        const res = await raw.query(
          'UPDATE credit_accounts SET balance = balance - 1 WHERE org_id = $1 AND balance >= 1 RETURNING 1',
          [pick(i, spread).id],
        );
        return res.length !== 0;
      });
      rows.push({ what: `raw SQL: 1 autocommit UPDATE of the balance, ${spread ? 'spread' : 'hot'}`, c, r });
    }
  }
  await raw.close();
  await server.close();
  report(rows);
}

function report(rows: Row[]) {
  printTable(rows);
  for (const row of rows.filter((x) => x.what.startsWith('HTTP'))) {
    const s =
      'perSecond' in row.r && 'p99' in row.r ? (row.r as ClientResult) : summarize(row.r as RunResult);
    const target = row.what.includes('hot') ? TARGETS.hot : TARGETS.spread;
    const met = s.perSecond >= target && s.p99 <= TARGET_P99_MS && (row.r as ClientResult).errors === 0;
    console.log(
      `target    ${row.what} C=${row.c}: ${Math.round(s.perSecond)}/s, p99 ${s.p99.toFixed(1)} ms vs >= ${target}/s and p99 <= ${TARGET_P99_MS} ms: ${met ? 'met' : 'NOT met'}`,
    );
  }
  console.log(
    `load avg  at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

// ---------------------------------------------------------------- helpers
interface ClientResult {
  ok: number;
  errors: number;
  timedOut: boolean;
  seconds: number;
  statuses: Record<string, number>;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
}

function printTable(rows: Row[]) {
  const head = ['what', 'C', 'ok', 'err', 's', 'rate/s', 'p50 ms', 'p99 ms', 'max ms'];
  const body = rows.map(({ what, c, r }) => {
    const s = 'statuses' in r ? r : { ...r, ...summarize(r) };
    const codes =
      'statuses' in r
        ? ` [${Object.entries(r.statuses)
            .map(([k, v]) => `${k}:${v}`)
            .join(' ')}]`
        : '';
    return [
      `${what}${codes}${r.timedOut ? ' (stopped at 60 s)' : ''}`,
      String(c),
      String(r.ok),
      String(r.errors),
      r.seconds.toFixed(2),
      String(Math.round(s.perSecond)),
      s.p50.toFixed(2),
      s.p99.toFixed(2),
      s.max.toFixed(2),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log('');
  console.log(fmt(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(fmt(b));
  console.log('(C = concurrent connections or calls in flight; p50/p99 per request or statement)');
}

/** Runs client.ts as a child process against this server; resolves its result. */
function clientProcess(
  port: number,
  orgsFile: string,
  mode: string,
  total: number,
  concurrency: number,
): Promise<ClientResult> {
  return runChildClient(new URL('./client.ts', import.meta.url), [
    String(port),
    orgsFile,
    mode,
    String(total),
    String(concurrency),
  ]);
}
