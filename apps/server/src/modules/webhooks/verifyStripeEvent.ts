import type Stripe from 'stripe';
import { z } from 'zod';

/** After the signature check, the envelope is still validated before anything is stored. */
export const stripeEventSchema = z.object({
  id: z.string().regex(/^evt_/),
  object: z.literal('event'),
  type: z.string().min(1),
  created: z.number().int(),
  api_version: z.string().nullable().optional(),
  livemode: z.boolean(),
  data: z.object({ object: z.record(z.string(), z.unknown()), previous_attributes: z.unknown().optional() }),
});
export type VerifiedEvent = z.output<typeof stripeEventSchema>;

/**
 * Verifies `Stripe-Signature` over the raw body with every configured secret (several during a
 * rotation; any match is enough), 300 s tolerance, using the SDK's own verifier.
 */
export function verifyStripeEvent(
  stripe: Stripe,
  secrets: string[],
  rawBody: Buffer,
  signature: string | undefined,
): { ok: true; event: VerifiedEvent } | { ok: false; reason: string } {
  if (!signature) return { ok: false, reason: 'missing Stripe-Signature header' };
  if (!secrets.length) return { ok: false, reason: 'no webhook secret configured' };
  for (const secret of secrets) {
    try {
      const event = stripe.webhooks.constructEvent(rawBody, signature, secret, 300);
      const parsed = stripeEventSchema.safeParse(event);
      if (!parsed.success) return { ok: false, reason: 'not a Stripe event envelope' };
      return { ok: true, event: parsed.data };
    } catch {
      // try the next secret
    }
  }
  return { ok: false, reason: 'signature does not match' };
}
