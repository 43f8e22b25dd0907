import { stripeEvents } from '../../db/schema/index.ts';
import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import type { VerifiedEvent } from './verifyStripeEvent.ts';

/**
 * Stores a verified event once, keyed by its id. Returns false for a redelivery (already
 * stored): Stripe gets its 2xx either way, and nothing is processed twice.
 */
export async function storeEvent(
  deps: Pick<Deps, 'database' | 'clock'>,
  event: VerifiedEvent,
): Promise<boolean> {
  const object = event.data.object as { id?: unknown; object?: unknown };
  const inserted = await withSystemTx(deps.database, (tx) =>
    tx
      .insert(stripeEvents)
      .values({
        id: event.id,
        type: event.type,
        objectId: typeof object.id === 'string' ? object.id : null,
        objectType: typeof object.object === 'string' ? object.object : null,
        stripeCreated: event.created,
        apiVersion: event.api_version ?? null,
        livemode: event.livemode,
        payload: event,
        receivedAt: deps.clock.now(),
        nextAttemptAt: deps.clock.now(),
      })
      .onConflictDoNothing({ target: stripeEvents.id })
      .returning({ id: stripeEvents.id }),
  );
  return inserted.length > 0;
}
