import type Stripe from 'stripe';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import type { BalanceChange } from '../credit-alerts/afterBalanceChange.ts';
import { creditRules } from './creditRules.ts';
import { grantCredits } from './ledger.ts';
import { notifyBalanceChanges } from './notifyBalanceChanges.ts';

/** `credits_1k:2,credits_10k:1` (checkout's `tollgate_packs`) → [{ key, quantity }]. */
export function parsePacks(value: string | undefined): { key: string; quantity: number }[] {
  if (!value) return [];
  return value
    .split(',')
    .map((part) => {
      const [key, qty] = part.split(':');
      return { key: key?.trim() ?? '', quantity: Number(qty ?? 1) };
    })
    .filter((p) => p.key && Number.isInteger(p.quantity) && p.quantity > 0);
}

/**
 * Grants the packs a payment bought, once per (payment intent, pack): checkout.session.completed,
 * async_payment_succeeded and payment_intent.succeeded all land here with the same payment
 * intent, and the cause key `credits.pack:<pi>:<pack>` makes whichever comes first the only grant.
 * Pack credits never expire. `paid` must be what Stripe says now (re-fetched), not the event.
 */
export async function grantPackCredits(
  deps: Deps,
  orgId: string,
  payment: { paymentIntentId: string; paid: boolean; metadata: Stripe.Metadata | null | undefined },
): Promise<number> {
  const md = payment.metadata ?? {};
  if (!payment.paid || md.tollgate_purpose !== 'credit_packs') return 0;
  const rules = await creditRules(deps);
  const packs = parsePacks(md.tollgate_packs);
  let granted = 0;
  const changes: (BalanceChange | null)[] = [];
  await withOrgTx(deps.database, orgId, async (tx) => {
    for (const p of packs) {
      const pack = rules.packs.get(p.key);
      // A pack removed from the catalog since the purchase: the metadata's total is what was sold.
      const credits = pack
        ? pack.credits * p.quantity
        : packs.length === 1
          ? Number(md.tollgate_credits ?? 0)
          : 0;
      if (!(credits > 0)) {
        deps.logger.error(
          { orgId, pack: p.key, pi: payment.paymentIntentId },
          'paid credit pack not in the catalog',
        );
        continue;
      }
      const r = await grantCredits(
        tx,
        {
          orgId,
          source: 'pack',
          amount: credits,
          expiresAt: null,
          causeKey: `credits.pack:${payment.paymentIntentId}:${p.key}`,
          sourceRef: payment.paymentIntentId,
          packKey: p.key,
          reason: `${p.key} × ${p.quantity}`,
        },
        deps.clock.now(),
      );
      if (r.granted) granted += credits;
      changes.push(r.change);
    }
  });
  await notifyBalanceChanges(deps, changes);
  return granted;
}
