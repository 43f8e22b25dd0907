import { createHmac } from 'node:crypto';

/**
 * `Tollgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 * The timestamp is signed with the body, so a captured request cannot be replayed later than
 * the receiver's tolerance. Receivers verify with `verifyTollgateSignature` from @tollgate/client (packages/client/src/webhooks.ts).
 */
export function signTollgatePayload(secret: string, body: string, timestampSec: number): string {
  const t = Math.floor(timestampSec);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}
