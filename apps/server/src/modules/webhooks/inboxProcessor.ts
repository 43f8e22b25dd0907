import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { stripeEvents } from '../../db/schema/index.ts';
import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { applyStoredEvent } from './applyStoredEvent.ts';
import type { WebhookMetrics } from './webhookMetrics.ts';

const backoffMs = (attempt: number) => Math.min(2 ** (attempt - 1) * 2_000, 3_600_000);

interface Claimed {
  id: string;
  payload: unknown;
  attempts: number;
  received_at: Date | string;
}

/**
 * Works through the inbox: claims due events (FOR UPDATE SKIP LOCKED, so any number of
 * processes share it; a crashed worker's claim expires and is taken over), applies each in
 * received order, and records the outcome. A failure is retried with backoff; after
 * STRIPE_EVENT_MAX_ATTEMPTS the event is dead-lettered and shown to operators.
 */
export function createInboxProcessor(
  deps: Deps,
  metrics: WebhookMetrics,
  opts: { batch?: number; pollMs?: number } = {},
) {
  // The pid in the claim says which process holds an event (operators; the chaos test kills it).
  const me = `inbox-${process.pid}-${randomUUID().slice(0, 8)}`;
  const batch = opts.batch ?? 50;
  // A crashed worker's claims are taken over once this passes (WORKER_LOCK_SECONDS).
  const lockMs = deps.env.WORKER_LOCK_SECONDS * 1000;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  let stopped = false;

  async function claim(): Promise<Claimed[]> {
    const now = deps.clock.now();
    return withSystemTx(deps.database, async (tx) => {
      const res = (await tx.execute(sql`
        UPDATE stripe_events SET status = 'processing', locked_by = ${me},
          locked_until = ${new Date(now.getTime() + lockMs).toISOString()}::timestamptz, attempts = attempts + 1
        WHERE id = ANY(ARRAY(
          SELECT id FROM stripe_events
          WHERE (status = 'pending' AND next_attempt_at <= ${now.toISOString()}::timestamptz)
             OR (status = 'processing' AND locked_until < ${now.toISOString()}::timestamptz)
          ORDER BY stripe_created, received_at, id
          LIMIT ${batch}
          FOR UPDATE SKIP LOCKED))
        RETURNING id, payload, attempts, received_at`)) as unknown as { rows: Claimed[] };
      return res.rows.sort((a, b) => String(a.received_at).localeCompare(String(b.received_at)));
    });
  }

  async function finish(id: string, set: Partial<typeof stripeEvents.$inferInsert>) {
    await withSystemTx(deps.database, (tx) =>
      tx
        .update(stripeEvents)
        .set({ ...set, lockedBy: null, lockedUntil: null })
        .where(and(eq(stripeEvents.id, id), eq(stripeEvents.lockedBy, me))),
    );
  }

  async function processOne(row: Claimed) {
    try {
      const { outcome, orgId } = await applyStoredEvent(deps, row.payload);
      await finish(row.id, { status: outcome, orgId, appliedAt: deps.clock.now(), lastError: null });
      metrics.processed.inc({ outcome });
      metrics.lag.observe(Math.max(0, deps.clock.nowMs() - new Date(row.received_at).getTime()) / 1000);
    } catch (err) {
      const dead = row.attempts >= deps.env.STRIPE_EVENT_MAX_ATTEMPTS;
      await finish(row.id, {
        status: dead ? 'dead' : 'pending',
        lastError: String((err as Error)?.message ?? err).slice(0, 2000),
        nextAttemptAt: new Date(deps.clock.nowMs() + backoffMs(row.attempts)),
      });
      metrics.processed.inc({ outcome: dead ? 'dead' : 'retry' });
      deps.logger.warn({ err, event: row.id, attempt: row.attempts, dead }, 'stripe event failed');
    }
  }

  /** Processes everything due now; returns how many events were handled. */
  async function runOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = await claim();
      if (!rows.length) return total;
      for (const row of rows) await processOne(row);
      total += rows.length;
    }
  }

  const tick = () => {
    if (stopped) return;
    running = runOnce().catch((err) => {
      deps.logger.error({ err }, 'inbox processing failed');
      return 0;
    });
    running.finally(() => {
      running = null;
      if (!stopped) timer = setTimeout(tick, opts.pollMs ?? 500);
    });
  };

  return {
    runOnce,
    start() {
      stopped = false;
      tick();
    },
    /** Graceful: stops polling and waits for the batch in hand. */
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
export type InboxProcessor = ReturnType<typeof createInboxProcessor>;
