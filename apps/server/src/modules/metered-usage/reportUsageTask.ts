import { and, asc, eq, getTableColumns, inArray, isNull, lte, sql } from 'drizzle-orm';
import Stripe from 'stripe';
import { z } from 'zod';
import { meteredUsage, organizations } from '../../db/schema/index.ts';
import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { backoffDelayMs, defineTask, enqueueJobInSystemTx } from '../../jobs/index.ts';
import { ensureMeteredItem } from './ensureMeteredItem.ts';
import { meteredProducts } from './meteredProducts.ts';

const BATCH = 200;
const PARALLEL = 8;
/** Give up on a record after this many failed reports (it keeps its last_error for operators). */
export const MAX_REPORT_ATTEMPTS = 20;
const RETRY = { baseMs: 30_000, maxMs: 3_600_000 };
/** Kicks within this window share one run: usage is reported in batches, not one job per call. */
const KICK_WINDOW_MS = 5_000;
const TICK_MS = 60_000;

/**
 * Reports unreported metered usage (add-ons and credit overage) to Stripe billing meters, in
 * batches. At-least-once and safe with several workers: each record's meter event carries its
 * deterministic `identifier`, and Stripe's "an event already exists with identifier" answer
 * counts as reported, so a record is never counted twice. A failed record is retried with
 * backoff (`next_report_at`) up to MAX_REPORT_ATTEMPTS. Before a record is sent, the add-on's
 * metered price is put on the org's live subscription (once), so Stripe bills it.
 */
export const reportUsageTask = defineTask({
  name: 'metered.report',
  payload: z.object({ kind: z.enum(['kick', 'tick']), slot: z.number().int().nonnegative() }),
  maxAttempts: 5,
  async run({ kind, slot }, ctx: { deps: Deps }) {
    const deps = ctx.deps;
    if (kind === 'tick') await scheduleUsageReport(deps, slot + 1);
    await reportPendingUsage(deps);
  },
});

const kicked = new WeakMap<object, number>();

/**
 * Asks for a batched report run within the next few seconds. Call it after the usage committed:
 * once per window and process, outside any transaction, so concurrent usage inserts never queue
 * on the job's dedupe key. If it fails, the minutely run reports the rows anyway.
 */
export async function kickUsageReport(deps: Pick<Deps, 'database' | 'clock'>): Promise<void> {
  const slot = Math.floor(deps.clock.nowMs() / KICK_WINDOW_MS) + 1;
  if (kicked.get(deps.database) === slot) return;
  kicked.set(deps.database, slot);
  await enqueueJobInSystemTx(
    deps.database,
    reportUsageTask.job(
      { kind: 'kick', slot },
      { runAt: new Date(slot * KICK_WINDOW_MS), dedupeKey: `metered.report:kick:${slot}` },
    ),
  );
}

/** The recurring run (retries and rows nobody kicked); call once at worker start, like the drift check. */
export async function scheduleUsageReport(deps: Pick<Deps, 'database' | 'clock'>, minSlot = 0) {
  const slot = Math.max(minSlot, Math.floor(deps.clock.nowMs() / TICK_MS) + 1);
  return enqueueJobInSystemTx(
    deps.database,
    reportUsageTask.job(
      { kind: 'tick', slot },
      { runAt: new Date(slot * TICK_MS), dedupeKey: `metered.report:tick:${slot}` },
    ),
  );
}

type Row = typeof meteredUsage.$inferSelect & { customerId: string | null };

export async function reportPendingUsage(deps: Deps): Promise<{ reported: number; failed: number }> {
  let reported = 0;
  let failed = 0;
  const products = await meteredProducts(deps);
  const items = new Map<string, Promise<void>>();
  for (;;) {
    const now = deps.clock.now();
    const rows: Row[] = await withSystemTx(deps.database, (tx) =>
      tx
        .select({ ...getTableColumns(meteredUsage), customerId: organizations.stripeCustomerId })
        .from(meteredUsage)
        .innerJoin(organizations, eq(organizations.id, meteredUsage.orgId))
        .where(
          and(
            isNull(meteredUsage.reportedAt),
            lte(meteredUsage.nextReportAt, now),
            sql`${meteredUsage.reportAttempts} < ${MAX_REPORT_ATTEMPTS}`,
          ),
        )
        .orderBy(asc(meteredUsage.nextReportAt))
        .limit(BATCH),
    );
    if (rows.length === 0) break;
    const ok: string[] = [];
    const errors: { row: Row; message: string }[] = [];
    for (let i = 0; i < rows.length; i += PARALLEL) {
      await Promise.all(
        rows.slice(i, i + PARALLEL).map(async (row) => {
          try {
            await reportOne(deps, row, products, items);
            ok.push(row.id);
          } catch (err) {
            errors.push({ row, message: (err as Error).message?.slice(0, 500) ?? String(err) });
          }
        }),
      );
    }
    await withSystemTx(deps.database, async (tx) => {
      if (ok.length)
        await tx
          .update(meteredUsage)
          .set({ reportedAt: now, lastError: null, reportAttempts: sql`${meteredUsage.reportAttempts} + 1` })
          .where(inArray(meteredUsage.id, ok));
      for (const { row, message } of errors) {
        const delay = backoffDelayMs(row.reportAttempts + 1, RETRY);
        await tx
          .update(meteredUsage)
          .set({
            reportAttempts: row.reportAttempts + 1,
            lastError: message,
            nextReportAt: new Date(now.getTime() + delay),
          })
          .where(eq(meteredUsage.id, row.id));
      }
    });
    reported += ok.length;
    failed += errors.length;
    if (errors.length)
      deps.logger.warn({ failed: errors.length, first: errors[0]!.message }, 'usage report failed');
    if (rows.length < BATCH) break;
  }
  return { reported, failed };
}

async function reportOne(
  deps: Deps,
  row: Row,
  products: Awaited<ReturnType<typeof meteredProducts>>,
  items: Map<string, Promise<void>>,
) {
  if (!row.customerId) throw new Error('the org has no Stripe customer');
  const product = products.get(row.addonKey);
  if (product) {
    const key = `${row.orgId}:${product.price_id}`;
    let ensured = items.get(key);
    if (!ensured) {
      ensured = ensureMeteredItem(deps, row.orgId, product.price_id);
      items.set(key, ensured);
    }
    await ensured;
  }
  try {
    await deps.stripe.billing.meterEvents.create({
      event_name: row.meterEventName,
      identifier: row.identifier,
      timestamp: Math.floor(row.occurredAt.getTime() / 1000),
      payload: { stripe_customer_id: row.customerId, value: String(row.quantity) },
    });
  } catch (err) {
    // A retry of an event Stripe already has: reported (never counted twice).
    if (
      err instanceof Stripe.errors.StripeInvalidRequestError &&
      /already exists with identifier/.test(err.message)
    )
      return;
    throw err;
  }
}
