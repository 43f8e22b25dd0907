import { sql } from 'drizzle-orm';
import type pg from 'pg';
import type { Database } from '../../db/client.ts';
import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import type { BalanceChange } from '../credit-alerts/afterBalanceChange.ts';
import type { Precedence } from './creditRules.ts';
import { notifyBalanceChanges } from './notifyBalanceChanges.ts';

/** One item as the SQL function takes it (short names: the whole flush is one JSON parameter). */
export interface SqlItem {
  id: string;
  k: string;
  h: string;
  e: string;
  q: number;
  c: number;
  m: Record<string, string>;
}

/** One request of one org: a single item, or an atomic batch. */
export interface Entry {
  o: string;
  items: SqlItem[];
}

export interface ConsumedView {
  id: string;
  event: string;
  quantity: number;
  credits: number;
  overage: number;
  balance: number;
  breakdown: { grant_id: string; source: string; credits: number }[];
  created_at: string;
  replayed: boolean;
}

export interface EntryResult {
  o: string;
  before: number;
  after: number;
  consumed: number;
  error: null | {
    code: 'insufficient_credits' | 'idempotency_conflict';
    index: number;
    balance?: number;
    required?: number;
  };
  results: ConsumedView[];
}

interface Pending {
  entry: Entry;
  resolve(r: EntryResult): void;
  reject(err: unknown): void;
}

export interface ConsumeQueueOptions {
  /** Flushes running at once (each on its own connection); an org is in at most one. */
  maxInFlight: number;
  /** Items per flush (an atomic batch counts all its items). */
  maxItems: number;
}

/**
 * In-process group commit. Requests are queued and flushed together: ONE statement (the
 * `tollgate_credit_consume` PL/pgSQL function, one transaction) applies a whole flush, across
 * orgs. Why: a transaction per request costs several round trips and a commit each, which two
 * cores cannot do 5,000 times a second; a flush pays that once for everything queued meanwhile.
 *
 * - Order: an org's requests are applied in arrival order. An org with a request in a running
 *   flush waits for it, so two flushes never contend for one org's lock, and a hot org's queued
 *   requests go together into the next flush (one lock, one commit, many items).
 * - Isolation: the function decides each request on its own (402/409 leave no trace), so one
 *   request's refusal never fails another's. If the statement itself fails (a bug, a lost
 *   connection), the flush is retried one request at a time so only the culprit fails.
 * - Several processes: the function locks each org's account row and the flush is sorted by org,
 *   so locks are taken in one global order and flushes of different processes cannot deadlock.
 */
export function createConsumeQueue(deps: Deps, precedence: () => Precedence, opts: ConsumeQueueOptions) {
  let queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;
  const busy = new Set<string>();

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    // Let every request that arrived in this turn of the event loop join the flush.
    setImmediate(() => {
      scheduled = false;
      pump();
    });
  }

  function pump() {
    while (inFlight < opts.maxInFlight && queue.length) {
      const batch: Pending[] = [];
      const rest: Pending[] = [];
      const taken = new Set<string>();
      const skipped = new Set<string>();
      let items = 0;
      for (const p of queue) {
        const org = p.entry.o;
        const fits = items === 0 || items + p.entry.items.length <= opts.maxItems;
        // Once one of an org's requests is left queued, its later ones wait too (order).
        if (fits && !busy.has(org) && !skipped.has(org)) {
          batch.push(p);
          taken.add(org);
          items += p.entry.items.length;
        } else {
          rest.push(p);
          skipped.add(org);
        }
      }
      if (!batch.length) return;
      queue = rest;
      for (const o of taken) busy.add(o);
      inFlight++;
      void flush(batch).finally(() => {
        for (const o of taken) busy.delete(o);
        inFlight--;
        if (queue.length) schedule();
      });
    }
  }

  async function flush(batch: Pending[]) {
    // Stable sort by org: the global lock order (see above); each org's requests stay in order.
    const order = batch
      .map((p, i) => ({ p, i }))
      .sort((a, b) => (a.p.entry.o < b.p.entry.o ? -1 : a.p.entry.o > b.p.entry.o ? 1 : a.i - b.i));
    const sorted = order.map((x) => x.p);
    let results: EntryResult[];
    try {
      results = await runConsume(
        deps.database,
        sorted.map((p) => p.entry),
        precedence(),
        deps.clock.now(),
      );
    } catch (err) {
      if (sorted.length === 1) {
        sorted[0]!.reject(err);
        return;
      }
      for (const p of sorted) {
        try {
          const [r] = await runConsume(deps.database, [p.entry], precedence(), deps.clock.now());
          await settle([p], [r!]);
        } catch (e) {
          p.reject(e);
        }
      }
      return;
    }
    await settle(sorted, results);
  }

  async function settle(pending: Pending[], results: EntryResult[]) {
    const at = deps.clock.now();
    const changes: BalanceChange[] = results
      .filter((r) => r.before !== r.after || r.consumed > 0)
      .map((r) => ({ orgId: r.o, before: r.before, after: r.after, consumed: r.consumed, at }));
    // Committed: the alerts hook runs before the callers hear back, so what they see next
    // (an alert, a top-up in flight) already reflects this flush.
    await notifyBalanceChanges(deps, changes);
    pending.forEach((p, i) => {
      p.resolve(results[i]!);
    });
  }

  return {
    submit(entry: Entry): Promise<EntryResult> {
      return new Promise((resolve, reject) => {
        queue.push({ entry, resolve, reject });
        schedule();
      });
    },
  };
}

export type ConsumeQueue = ReturnType<typeof createConsumeQueue>;

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Runs one flush. On PostgreSQL: a single simple-protocol round trip — the two statements form
 * one implicit transaction (the role switch is transaction-local, like withSystemTx's), so a
 * failure rolls back everything and leaves the pooled connection clean. The JSON is inlined as
 * a quoted literal (standard_conforming_strings: only quotes need doubling). On PGlite (one
 * in-process connection, no round trips to save): an ordinary system transaction.
 */
export async function runConsume(
  database: Database,
  entries: Entry[],
  precedence: Precedence,
  now: Date,
): Promise<EntryResult[]> {
  const payload = JSON.stringify(entries);
  let raw: EntryResult[];
  if (database.kind === 'postgres') {
    const pool = (database.db as unknown as { $client: pg.Pool }).$client;
    const res = (await pool.query(
      `SELECT set_config('role', 'tollgate_system', true); SELECT tollgate_credit_consume(${literal(payload)}::jsonb, ${literal(precedence)}, ${literal(now.toISOString())}::timestamptz) AS r`,
    )) as unknown as pg.QueryResult<{ r: EntryResult[] }>[];
    raw = res[1]!.rows[0]!.r;
  } else {
    raw = await withSystemTx(database, async (tx) => {
      const res = (await tx.execute(
        sql`SELECT tollgate_credit_consume(${payload}::jsonb, ${precedence}, ${now.toISOString()}::timestamptz) AS r`,
      )) as unknown as { rows: { r: EntryResult[] }[] };
      return res.rows[0]!.r;
    });
  }
  for (const r of raw) for (const c of r.results) c.created_at = new Date(c.created_at).toISOString();
  return raw;
}
