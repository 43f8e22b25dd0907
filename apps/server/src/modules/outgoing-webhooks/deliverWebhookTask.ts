import { z } from 'zod';
import { withSystemTx } from '../../db/tx.ts';
import { defineTask, type JobContext, RetryJobError } from '../../jobs/index.ts';
import { findDelivery, findEndpoint, recordAttempt, setDeliveryStatus } from './repo.ts';
import { signTollgatePayload } from './signature.ts';

export const DELIVERY_TIMEOUT_MS = 10_000;
export const DELIVERY_MAX_ATTEMPTS = 10;
/** 1 min, 2, 4, … 256 min: ten attempts span about 8.5 hours. */
export const DELIVERY_BACKOFF = { baseMs: 60_000, maxMs: 12 * 3_600_000 };
const USER_AGENT = 'Tollgate-Webhooks/1';
const MAX_ERROR_BODY = 500;

/**
 * POSTs one delivery to its endpoint. At least once: a crash after the receiver's 2xx but before
 * the row is updated sends it again, so receivers dedupe by Tollgate-Event-Id.
 * `manual` marks an operator's redelivery: it is sent even when already delivered or when the
 * endpoint is disabled, once (the redelivery job has maxAttempts 1).
 */
export const deliverWebhookTask = defineTask({
  name: 'outgoing_webhooks.deliver',
  payload: z.object({ deliveryId: z.string(), manual: z.boolean().optional() }),
  maxAttempts: DELIVERY_MAX_ATTEMPTS,
  backoff: DELIVERY_BACKOFF,
  async run({ deliveryId, manual }, ctx: JobContext) {
    const found = await withSystemTx(ctx.database, async (tx) => {
      const delivery = await findDelivery(tx, deliveryId);
      return delivery ? { delivery, endpoint: await findEndpoint(tx, delivery.endpointId) } : null;
    });
    if (!found) return;
    const { delivery, endpoint } = found;
    // A rerun of an automatic attempt that already got its 2xx (the worker crashed before done).
    if (!manual && delivery.status === 'delivered') return;
    if (!endpoint || (!endpoint.active && !manual)) {
      const why = endpoint ? 'endpoint disabled' : 'endpoint deleted';
      await withSystemTx(ctx.database, (tx) => setDeliveryStatus(tx, deliveryId, 'dead', why));
      return;
    }

    const body = JSON.stringify(delivery.payload);
    let statusCode: number | null = null;
    let error: string;
    let retryAfterMs: number | null = null;
    try {
      const res = await fetch(endpoint.url, {
        method: 'POST',
        body,
        redirect: 'manual',
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)]),
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'tollgate-signature': signTollgatePayload(endpoint.secret, body, ctx.clock.nowMs() / 1000),
          'tollgate-event-id': delivery.eventId,
          'tollgate-event-type': delivery.eventType,
          'tollgate-delivery-id': delivery.id,
        },
      });
      statusCode = res.status;
      const text = await readCapped(res, MAX_ERROR_BODY);
      if (res.ok) {
        await withSystemTx(ctx.database, (tx) =>
          recordAttempt(tx, deliveryId, {
            status: 'delivered',
            statusCode,
            error: null,
            deliveredAt: ctx.clock.now(),
          }),
        );
        return;
      }
      error = `HTTP ${res.status}${text ? `: ${text}` : ''}`;
      retryAfterMs = retryAfter(res);
    } catch (err) {
      error =
        err instanceof Error && err.name === 'TimeoutError'
          ? `timed out after ${DELIVERY_TIMEOUT_MS / 1000} s`
          : `request failed: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`;
    }
    const last = ctx.job.attempt >= ctx.job.maxAttempts;
    await withSystemTx(ctx.database, (tx) =>
      recordAttempt(tx, deliveryId, { status: last ? 'dead' : 'failed', statusCode, error }),
    );
    const message = `delivery ${deliveryId} to ${endpoint.url}: ${error}`;
    if (retryAfterMs !== null && !last) throw new RetryJobError(message, retryAfterMs);
    throw new Error(message);
  },
});

/** A receiver's 429/503 Retry-After (seconds), capped at the backoff's maximum. */
function retryAfter(res: Response): number | null {
  if (res.status !== 429 && res.status !== 503) return null;
  const s = Number(res.headers.get('retry-after'));
  return Number.isFinite(s) && s > 0 ? Math.min(s * 1000, DELIVERY_BACKOFF.maxMs) : null;
}

/** Reads at most `max` characters of the response, so a huge error page costs nothing. */
async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < max) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // A body cut short says nothing more about the outcome than the status did.
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
