import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { stripeEvents } from '../../apps/server/src/db/schema/index.ts';
import { withSystemTx } from '../../apps/server/src/db/tx.ts';
import { createEventInbox } from '../../apps/server/src/modules/webhooks/eventInbox.ts';
import { createInboxProcessor } from '../../apps/server/src/modules/webhooks/inboxProcessor.ts';
import { storeEvent } from '../../apps/server/src/modules/webhooks/storeEvent.ts';
import { stripeEventSchema } from '../../apps/server/src/modules/webhooks/verifyStripeEvent.ts';
import { machineLine, startBenchApp } from '../benchApp.ts';
import { openBenchDatabase, rawDriver } from '../benchDatabase.ts';
import { runChildClient } from '../childClient.ts';
import { closedLoop, postEvents, type RunResult, summarize } from './load.ts';
import { API_VERSION, buildSignedEvents, type SignedEvent } from './payloads.ts';

const TOTAL = Number(process.env.BENCH_TOTAL ?? 20_000);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '16,64').split(',').map(Number);
const APPLY = Number(process.env.BENCH_APPLY ?? 2_000);
const POOL = Number(process.env.BENCH_POOL ?? 20);
const WARMUP = 2_000;
const TIME_LIMIT_MS = 60_000;
const BATCH_ROWS = 100;
const TARGET_RATE = 3_000;
const TARGET_P99_MS = 15;
const SECRET = `whsec_bench_${randomBytes(12).toString('hex')}`;

// ---------------------------------------------------------------- database
const bench = await openBenchDatabase(POOL);
const { database, label: dbLabel } = bench;

try {
  await run();
} finally {
  await bench.close();
}

async function run() {
  // ---------------------------------------------------------------- app
  // The ingest path makes no Stripe calls (startBenchApp's client points at a closed port).
  const server = await startBenchApp(bench, {
    poolSize: POOL,
    env: {
      STRIPE_WEBHOOK_SECRETS: SECRET,
      RATE_LIMIT_PER_IP_PER_MINUTE: '100000000',
      RATE_LIMIT_PER_KEY_PER_MINUTE: '100000000',
    },
  });
  const { deps, metrics, port } = server;

  console.log(machineLine());
  console.log(`database  ${dbLabel}`);
  console.log(`server    Tollgate in this process on http://127.0.0.1:${port} (client in the same process)`);
  console.log(
    `events    ${TOTAL} per run (45% invoice.paid, 45% customer.subscription.updated, 10% payment_intent.created), signed up front`,
  );

  const rows: Row[] = [];
  let acknowledged = 0;

  // ---------------------------------------------------------------- warm-up
  const warm = await postEvents(port, buildSignedEvents(WARMUP, SECRET), CONCURRENCY[0] ?? 16, TIME_LIMIT_MS);
  acknowledged += warm.ok;

  // ---------------------------------------------------------------- HTTP ingest
  const sample: SignedEvent[] = [];
  for (const c of CONCURRENCY) {
    const events = buildSignedEvents(TOTAL, SECRET);
    if (!sample.length) sample.push(...events);
    const r = await postEvents(port, events, c, TIME_LIMIT_MS);
    acknowledged += r.ok;
    const codes = [...r.statuses].map(([k, v]) => `${k}:${v}`).join(' ');
    rows.push(row(`HTTP POST /v1/webhooks/stripe (verify, store, 200) [${codes}]`, c, TOTAL, r));
  }
  // The same with the client in its own process: this event loop then runs only the server.
  const serverCpu: string[] = [];
  for (const c of CONCURRENCY) {
    const cpu0 = process.cpuUsage();
    const r = await clientProcess(port, c);
    const cpu = process.cpuUsage(cpu0);
    // How busy this (server-only) event loop was: near 100% means the server's CPU is the limit.
    serverCpu.push(
      `C=${c}: ${(((cpu.user + cpu.system) / 1e6 / r.seconds) * 100).toFixed(0)}% of a core, ${((cpu.user + cpu.system) / Math.max(1, r.ok)).toFixed(0)} µs per event`,
    );
    acknowledged += r.ok;
    const codes = Object.entries(r.statuses)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
    rows.push({
      what: `HTTP, same, client in its own process [${codes}]${r.timedOut ? ' (stopped at 60 s)' : ''}`,
      c,
      count: TOTAL,
      ok: r.ok,
      errors: r.errors,
      seconds: r.seconds,
      perSecond: r.perSecond,
      unit: 'events/s',
      p50: r.p50,
      p99: r.p99,
      max: r.max,
    });
  }
  const [{ n: stored }] = (await database.query<{ n: string }>('SELECT count(*) n FROM stripe_events')) as [
    { n: string },
  ];
  const durable = Number(stored) === acknowledged;
  console.log(
    `stored    ${stored} rows for ${acknowledged} acknowledged events${durable ? '' : '  <-- MISMATCH'}`,
  );
  if (!durable) process.exitCode = 1;

  // ---------------------------------------------------------------- applied events/s
  // Park the backlog; release APPLY guest payment intents (no customer: resolve to no org).
  await database.query(
    `UPDATE stripe_events SET next_attempt_at = now() + interval '1 day' WHERE status = 'pending'`,
  );
  const applyRuns = database.kind === 'postgres' ? [1, 4] : [1];
  for (const workers of applyRuns) {
    const released = await database.query<{ id: string }>(
      `UPDATE stripe_events SET next_attempt_at = now() - interval '1 second'
       WHERE id IN (SELECT id FROM stripe_events WHERE type = 'payment_intent.created' AND status = 'pending'
                    AND next_attempt_at > now() LIMIT $1) RETURNING id`,
      [APPLY],
    );
    const processors = Array.from({ length: workers }, () =>
      createInboxProcessor(deps, metrics.webhook, { batch: 50 }),
    );
    const t0 = performance.now();
    const counts = await Promise.all(processors.map((p) => p.runOnce()));
    const seconds = (performance.now() - t0) / 1000;
    const outcome = await database.query<{ status: string; n: string }>(
      'SELECT status, count(*) n FROM stripe_events WHERE id = ANY($1) GROUP BY status',
      [released.map((r) => r.id)],
    );
    const ignored = Number(outcome.find((o) => o.status === 'ignored')?.n ?? 0);
    const summary = outcome.map((o) => `${o.status}:${o.n}`).join(' ');
    const handled = counts.reduce((a, b) => a + b, 0);
    rows.push({
      what: `inbox processor, ${workers} worker${workers > 1 ? 's' : ''}: claim, apply (no org), record [${summary}]`,
      c: workers,
      count: released.length,
      ok: ignored,
      seconds,
      perSecond: ignored / seconds,
      unit: 'applied/s',
    });
    if (ignored !== released.length || handled !== released.length) process.exitCode = 1;
  }

  // ---------------------------------------------------------------- our store path, and the raw ceiling
  // The same events (re-keyed, so each insert is a fresh row), through storeEvent and through the driver.
  const rekey = (suffix: string) =>
    sample.map((e) => ({
      ...e,
      id: `${e.id}${suffix}`,
      json: e.body.toString('utf8').replace(e.id, `${e.id}${suffix}`),
    }));
  let round = 0;
  for (const c of CONCURRENCY) {
    round++;
    const events = rekey(`s${round}`);
    const parsed = events.map((e) => stripeEventSchema.parse(JSON.parse(e.json)));
    const inbox = createEventInbox(deps);
    const r = await closedLoop(parsed.length, c, TIME_LIMIT_MS, (i) =>
      inbox.store({ event: parsed[i]!, raw: events[i]!.json }),
    );
    rows.push(row("event inbox direct: the endpoint's group-commit store, no HTTP", c, parsed.length, r));
  }
  for (const c of CONCURRENCY) {
    round++;
    const events = rekey(`o${round}`);
    const parsed = events.map((e) => stripeEventSchema.parse(JSON.parse(e.json)));
    const r = await closedLoop(parsed.length, c, TIME_LIMIT_MS, (i) =>
      storeEvent(deps, parsed[i]!, events[i]!.json),
    );
    rows.push(row('storeEvent(): one event per transaction (reference)', c, parsed.length, r));
  }
  if (database.kind === 'postgres') {
    // The store path before bench/webhooks (withSystemTx + the query builder: four round trips),
    // kept here so its cost is read in the same run as the current one.
    for (const c of CONCURRENCY) {
      round++;
      const parsed = rekey(`w${round}`).map((e) => stripeEventSchema.parse(JSON.parse(e.json)));
      const r = await closedLoop(parsed.length, c, TIME_LIMIT_MS, async (i) => {
        const event = parsed[i]!;
        const object = event.data.object as { id?: string; object?: string };
        const now = new Date();
        const inserted = await withSystemTx(database, (tx) =>
          tx
            .insert(stripeEvents)
            .values({
              id: event.id,
              type: event.type,
              objectId: object.id ?? null,
              objectType: object.object ?? null,
              stripeCreated: event.created,
              apiVersion: event.api_version ?? null,
              livemode: event.livemode,
              payload: event,
              receivedAt: now,
              nextAttemptAt: now,
            })
            .onConflictDoNothing({ target: stripeEvents.id })
            .returning({ id: stripeEvents.id }),
        );
        return inserted.length === 1;
      });
      rows.push(row('previous store path: withSystemTx + Drizzle insert (reference)', c, parsed.length, r));
    }
  }

  const raw = rawDriver(bench, POOL);
  const INSERT = `INSERT INTO stripe_events (id, type, object_id, object_type, stripe_created, api_version, livemode, payload, received_at, next_attempt_at) VALUES `;
  const tuple = (n: number) => {
    const b = n * 8;
    return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8}::text::jsonb, now(), now())`;
  };
  const params = (e: ReturnType<typeof rekey>[number]) => [
    e.id,
    e.type,
    e.objectId,
    e.objectType,
    e.created,
    API_VERSION,
    false,
    e.json,
  ];
  for (const c of CONCURRENCY) {
    round++;
    const rs = rekey(`r${round}`);
    const one = `${INSERT}${tuple(0)} ON CONFLICT (id) DO NOTHING`;
    const r = await closedLoop(rs.length, c, TIME_LIMIT_MS, async (i) => {
      await raw.query(one, params(rs[i]!));
      return true;
    });
    rows.push(row('raw INSERT ... ON CONFLICT DO NOTHING, 1 row/statement', c, rs.length, r));
  }
  for (const c of CONCURRENCY) {
    round++;
    const rs = rekey(`b${round}`);
    const batches = Math.ceil(rs.length / BATCH_ROWS);
    const r = await closedLoop(batches, c, TIME_LIMIT_MS, async (i) => {
      const slice = rs.slice(i * BATCH_ROWS, (i + 1) * BATCH_ROWS);
      const text = `${INSERT}${slice.map((_, k) => tuple(k)).join(', ')} ON CONFLICT (id) DO NOTHING`;
      await raw.query(text, slice.flatMap(params));
      return true;
    });
    rows.push(
      row(`raw INSERT ... ON CONFLICT DO NOTHING, ${BATCH_ROWS} rows/statement`, c, rs.length, r, BATCH_ROWS),
    );
  }
  await raw.close();
  await server.close();

  // ---------------------------------------------------------------- report
  printTable(rows);
  const ingest = rows.filter((r) => r.what.startsWith('HTTP'));
  for (const r of ingest) {
    const met = r.perSecond >= TARGET_RATE && (r.p99 ?? Infinity) <= TARGET_P99_MS;
    console.log(
      `target    C=${r.c}: ${Math.round(r.perSecond)} events/s, p99 ${r.p99?.toFixed(1)} ms vs >= ${TARGET_RATE}/s and p99 <= ${TARGET_P99_MS} ms: ${met ? 'met' : 'NOT met'}`,
    );
    if (r.errors) process.exitCode = 1;
  }
  for (const line of serverCpu) console.log(`server    CPU while the client ran in its own process, ${line}`);
  console.log(
    `load avg  at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

// ---------------------------------------------------------------- helpers
interface Row {
  what: string;
  c: number;
  count: number;
  ok: number;
  errors?: number;
  seconds: number;
  perSecond: number;
  unit: string;
  p50?: number;
  p99?: number;
  max?: number;
}

function row(what: string, c: number, count: number, r: RunResult, unitsPerOp = 1): Row {
  const s = summarize(r, unitsPerOp);
  return {
    what: r.timedOut ? `${what} (stopped at ${TIME_LIMIT_MS / 1000} s)` : what,
    c,
    count,
    ok: r.ok * unitsPerOp,
    errors: r.errors,
    seconds: r.seconds,
    perSecond: s.perSecond,
    unit: 'events/s',
    p50: s.p50,
    p99: s.p99,
    max: s.max,
  };
}

function printTable(rows: Row[]) {
  const ms = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(2));
  const head = ['what', 'C', 'count', 'ok', 'err', 's', 'rate', 'unit', 'p50 ms', 'p99 ms', 'max ms'];
  const body = rows.map((r) => [
    r.what,
    String(r.c),
    String(r.count),
    String(r.ok),
    String(r.errors ?? 0),
    r.seconds.toFixed(2),
    String(Math.round(r.perSecond)),
    r.unit,
    ms(r.p50),
    ms(r.p99),
    ms(r.max),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log('');
  console.log(fmt(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(fmt(b));
  console.log(
    '(C = concurrent connections/statements in flight; for the inbox processor, workers; p50/p99 per request, statement or 100-row batch)',
  );
}

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

/** Runs bench/webhooks/client.ts as a child process against this server; resolves its result. */
function clientProcess(port: number, concurrency: number): Promise<ClientResult> {
  return runChildClient(new URL('./client.ts', import.meta.url), [
    String(port),
    SECRET,
    String(TOTAL),
    String(concurrency),
  ]);
}
