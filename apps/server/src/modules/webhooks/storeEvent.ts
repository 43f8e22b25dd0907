import { stripeEvents } from '../../db/schema/index.ts';
import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import type { VerifiedEvent } from './verifyStripeEvent.ts';

const INSERT = `INSERT INTO stripe_events
  (id, type, object_id, object_type, stripe_created, api_version, livemode, payload, received_at, next_attempt_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $9)
  ON CONFLICT (id) DO NOTHING RETURNING id`;

/**
 * Stores a verified event once, keyed by its id. Returns false for a redelivery (already
 * stored): Stripe gets its 2xx either way, and nothing is processed twice.
 *
 * This is the hot path of `POST /v1/webhooks/stripe` (bench/webhooks). On PostgreSQL it is
 * one transaction in three round trips — `BEGIN; SET LOCAL ROLE tollgate_system` sent together,
 * the parameterised INSERT, COMMIT — instead of withSystemTx's four plus the query builder:
 * same role (row-level security applies as in withSystemTx), same row, committed before the
 * caller answers. PGlite (one shared connection) goes through withSystemTx, which serialises
 * transactions on it.
 */
export async function storeEvent(
  deps: Pick<Deps, 'database' | 'clock'>,
  event: VerifiedEvent,
): Promise<boolean> {
  const object = event.data.object as { id?: unknown; object?: unknown };
  const objectId = typeof object.id === 'string' ? object.id : null;
  const objectType = typeof object.object === 'string' ? object.object : null;
  const now = deps.clock.now();
  if (deps.database.kind === 'postgres') {
    const params = [
      event.id,
      event.type,
      objectId,
      objectType,
      event.created,
      event.api_version ?? null,
      event.livemode,
      JSON.stringify(event),
      now,
    ];
    return deps.database.withConnection(async (query) => {
      try {
        // No parameters: sent as one simple-protocol message, both statements in one round trip.
        await query('BEGIN; SET LOCAL ROLE tollgate_system');
        const inserted = await query(INSERT, params);
        await query('COMMIT');
        return inserted.length > 0;
      } catch (err) {
        await query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }
  const inserted = await withSystemTx(deps.database, (tx) =>
    tx
      .insert(stripeEvents)
      .values({
        id: event.id,
        type: event.type,
        objectId,
        objectType,
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
  return inserted.length > 0;
}
