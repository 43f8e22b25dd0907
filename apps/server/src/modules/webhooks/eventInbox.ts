import type { Deps } from '../../deps.ts';
import { type EventToStore, insertEvents } from './storeEvent.ts';

export interface EventInboxOptions {
  /** Most events in one INSERT/COMMIT. */
  maxBatch?: number;
  /** Batches being committed at once (each on its own connection). */
  maxInFlight?: number;
}

export interface EventInbox {
  /** Resolves once the event is durably stored: true if new, false for a redelivery. */
  store(item: EventToStore): Promise<boolean>;
  /** Resolves when everything queued so far is committed (or failed). */
  drain(): Promise<void>;
}

interface Pending {
  item: EventToStore;
  resolve: (fresh: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for the webhook endpoint. Each request still gets its 2xx only after ITS event is
 * committed, but concurrent requests share one INSERT and one COMMIT (one WAL flush) instead of
 * paying a transaction each: while a batch commits, new arrivals queue and go together in the
 * next one. With no concurrency a batch is a single event, so an idle server adds no latency.
 *
 * A batch that fails (one event Postgres refuses, say) is retried event by event, so one bad
 * event cannot fail the others; each request then sees only its own outcome.
 */
export function createEventInbox(
  deps: Pick<Deps, 'database' | 'clock'>,
  opts: EventInboxOptions = {},
): EventInbox {
  const maxBatch = opts.maxBatch ?? 200;
  // PGlite is one connection: a second batch in flight would only wait for the first.
  const maxInFlight = opts.maxInFlight ?? (deps.database.kind === 'postgres' ? 3 : 1);
  const queue: Pending[] = [];
  let inFlight = 0;
  let idle: (() => void)[] = [];

  const settle = async (batch: Pending[]) => {
    try {
      const fresh = await insertEvents(
        deps.database,
        batch.map((p) => p.item),
        deps.clock.now(),
      );
      for (const [i, p] of batch.entries()) p.resolve(fresh[i]!);
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      for (const p of batch) {
        await insertEvents(deps.database, [p.item], deps.clock.now()).then(
          ([fresh]) => p.resolve(fresh!),
          p.reject,
        );
      }
    }
  };

  const pump = () => {
    while (inFlight < maxInFlight && queue.length) {
      const batch = queue.splice(0, maxBatch);
      inFlight++;
      void settle(batch).finally(() => {
        inFlight--;
        pump();
      });
    }
    if (!inFlight && !queue.length) {
      const waiting = idle;
      idle = [];
      for (const fn of waiting) fn();
    }
  };

  return {
    store(item) {
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        pump();
      });
    },
    drain() {
      if (!inFlight && !queue.length) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
