import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Verifies Tollgate's outgoing-webhook signature in the host product:
 * `Tollgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * Pass the raw request body exactly as received (not re-serialised JSON). Returns false for a
 * missing or malformed header, a wrong signature, or a timestamp more than `toleranceSec` away
 * from `nowSec` (replay protection). Node only (node:crypto).
 */
export function verifyTollgateSignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  toleranceSec = 300,
  nowSec: number = Date.now() / 1000,
): boolean {
  if (!header) return false;
  let t: number | null = null;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (k === 't' && /^\d+$/.test(v)) t = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/.test(v)) candidates.push(v);
  }
  if (t === null || candidates.length === 0) return false;
  if (Math.abs(nowSec - t) > toleranceSec) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  return candidates.some((c) => timingSafeEqual(Buffer.from(c), expected));
}

/** The JSON body of every outgoing webhook. */
export interface TollgateWebhookEvent<Data = Record<string, unknown>> {
  /** Event id (`whe_...`), also in the Tollgate-Event-Id header: dedupe on it. */
  id: string;
  type: string;
  /** Unix seconds. */
  created: number;
  org_id: string | null;
  data: Data;
}
