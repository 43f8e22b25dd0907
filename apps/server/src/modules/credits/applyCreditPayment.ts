import type { Deps } from '../../deps.ts';
import { grantPackCredits } from './grantPackCredits.ts';
import { revokePackCredits } from './revokePackCredits.ts';

const idOf = (v: unknown): string | null =>
  typeof v === 'string'
    ? v
    : v && typeof v === 'object' && 'id' in v
      ? String((v as { id: unknown }).id)
      : null;

/**
 * The credits side of payment webhooks (checkout sessions, payment intents, charges, refunds).
 * Everything is re-read from Stripe, so a late or replayed event acts on the current state; the
 * ledger's cause keys make the effects happen once.
 */
export async function applyCreditPayment(
  deps: Deps,
  orgId: string,
  eventType: string,
  object: Record<string, unknown>,
): Promise<void> {
  if (eventType.startsWith('checkout.session.')) {
    if (
      eventType !== 'checkout.session.completed' &&
      eventType !== 'checkout.session.async_payment_succeeded'
    )
      return;
    const id = idOf(object.id);
    if (!id) return;
    const session = await deps.stripe.checkout.sessions.retrieve(id);
    const pi = idOf(session.payment_intent);
    if (session.mode !== 'payment' || !pi) return;
    await grantPackCredits(deps, orgId, {
      paymentIntentId: pi,
      paid: session.payment_status === 'paid',
      metadata: session.metadata,
    });
    return;
  }
  if (eventType === 'payment_intent.succeeded') {
    const id = idOf(object.id);
    if (!id) return;
    const pi = await deps.stripe.paymentIntents.retrieve(id);
    await grantPackCredits(deps, orgId, {
      paymentIntentId: pi.id,
      paid: pi.status === 'succeeded',
      metadata: pi.metadata,
    });
    return;
  }
  if (eventType === 'charge.refunded' || eventType === 'refund.created' || eventType === 'refund.updated') {
    const pi = idOf(object.payment_intent);
    if (!pi) return;
    const intent = await deps.stripe.paymentIntents.retrieve(pi, { expand: ['latest_charge'] });
    if (intent.metadata?.tollgate_purpose !== 'credit_packs') return;
    const charge =
      intent.latest_charge && typeof intent.latest_charge === 'object' ? intent.latest_charge : null;
    if (!charge || charge.amount_refunded <= 0) return;
    await revokePackCredits(deps, orgId, pi, idOf(object.id) ?? pi);
  }
}
