import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import type { VerifiedEvent } from './verifyStripeEvent.ts';

/** One verified event as stored: the envelope's facts plus the exact bytes Stripe signed. */
export interface EventToStore {
  event: VerifiedEvent;
  /** The raw request body (JSON); stored as the payload so nothing Stripe sent is dropped. */
  raw?: string;
}

const COLUMN_LIST =
  'id, type, object_id, object_type, stripe_created, api_version, livemode, payload, received_at, next_attempt_at';
const COLUMNS = 9;
const insertSql = (rows: number) => {
  const values: string[] = [];
  for (let r = 0; r < rows; r++) {
    const p = (c: number) => `$${r * COLUMNS + c}`;
    values.push(
      `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}::bigint, ${p(6)}, ${p(7)}::boolean, ${p(8)}::jsonb, ${p(9)}::timestamptz, ${p(9)}::timestamptz)`,
    );
  }
  return `INSERT INTO stripe_events (${COLUMN_LIST})
  VALUES ${values.join(',\n  ')}
  ON CONFLICT (id) DO NOTHING RETURNING id`;
};

function rowParams(item: EventToStore, now: Date): unknown[] {
  const { event } = item;
  const object = event.data.object as { id?: unknown; object?: unknown };
  return [
    event.id,
    event.type,
    typeof object.id === 'string' ? object.id : null,
    typeof object.object === 'string' ? object.object : null,
    event.created,
    event.api_version ?? null,
    event.livemode,
    item.raw ?? JSON.stringify(event),
    now,
  ];
}

/**
 * Inserts a batch of events in one transaction under the system role (row-level security applies
 * as in withSystemTx) and one multi-row statement. Returns, per item, whether it was newly stored
 * (false: already in the inbox — a redelivery, or the same event twice in this batch).
 *
 * On PostgreSQL this is three round trips for the whole batch (`BEGIN; SET LOCAL ROLE` sent as one
 * simple-protocol message, the INSERT, COMMIT) on a pooled connection of its own.
 */
export async function insertEvents(
  database: Database,
  items: readonly EventToStore[],
  now: Date,
): Promise<boolean[]> {
  const rows = items.map((item) => rowParams(item, now));
  const inserted =
    database.kind === 'postgres'
      ? await insertOnOwnConnection(database, rows)
      : // PGlite is one shared connection: its transaction API keeps other work from interleaving.
        await withSystemTx(database, async (tx) => {
          const values = rows.map(
            (v) =>
              sql`(${v[0]}, ${v[1]}, ${v[2]}, ${v[3]}, ${v[4]}::bigint, ${v[5]}, ${v[6]}::boolean, ${v[7]}::jsonb, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz)`,
          );
          const res = (await tx.execute(
            sql`INSERT INTO stripe_events (${sql.raw(COLUMN_LIST)}) VALUES ${sql.join(values, sql`, `)} ON CONFLICT (id) DO NOTHING RETURNING id`,
          )) as unknown as { rows: { id: string }[] };
          return res.rows;
        });
  const fresh = new Set(inserted.map((r) => r.id));
  // The first occurrence of an id in the batch is the one that stored it.
  return items.map((item) => fresh.delete(item.event.id));
}

async function insertOnOwnConnection(database: Database, rows: unknown[][]) {
  return database.withConnection(async (query) => {
    try {
      // No parameters: sent as one simple-protocol message, both statements in one round trip.
      await query('BEGIN; SET LOCAL ROLE tollgate_system');
      const inserted = await query<{ id: string }>(insertSql(rows.length), rows.flat());
      await query('COMMIT');
      return inserted;
    } catch (err) {
      await query('ROLLBACK').catch(() => {});
      throw err;
    }
  });
}

/** Stores one verified event once, keyed by its id (false for a redelivery). */
export async function storeEvent(
  deps: Pick<Deps, 'database' | 'clock'>,
  event: VerifiedEvent,
  raw?: string,
): Promise<boolean> {
  const [fresh] = await insertEvents(deps.database, [{ event, ...(raw ? { raw } : {}) }], deps.clock.now());
  return fresh!;
}
