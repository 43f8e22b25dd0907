import { sql } from 'drizzle-orm';
import type Stripe from 'stripe';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { listCreditProducts } from '../catalog/listCreditProducts.ts';
import { getOrg } from '../orgs/getOrg.ts';
import { emitOutgoing } from '../outgoing-webhooks/emitOutgoing.ts';
import { findCreditSettings } from './getCreditSettings.ts';
import { raiseAlert } from './raiseAlert.ts';

type Rows<T> = { rows: T[] };
type Pack = Awaited<ReturnType<typeof listCreditProducts>>['packs'][number];

const claimOf = (attempt: number) => `attempt:${attempt}`;

/** What an attempt needs, or why it cannot run (stale: a newer attempt or nothing in flight). */
export async function loadTopUpContext(
  deps: Pick<Deps, 'database'>,
  orgId: string,
  attempt: number,
): Promise<
  | { state: 'stale' }
  | { state: 'failed'; reason: string; message: string }
  | { state: 'ready'; pack: Pack; customerId: string }
> {
  const settings = await withOrgTx(deps.database, orgId, (tx) => findCreditSettings(tx, orgId));
  if (settings?.autoTopUpInFlight !== claimOf(attempt)) return { state: 'stale' };
  const { packs } = await listCreditProducts(deps);
  const pack = packs.find((p) => p.key === settings.autoTopUpPack);
  if (!pack)
    return { state: 'failed', reason: 'pack_unavailable', message: 'the pack is not in the catalog' };
  const customerId = (await getOrg(deps, orgId)).stripe_customer_id;
  if (!customerId)
    return { state: 'failed', reason: 'no_default_payment_method', message: 'the org has no card on file' };
  return { state: 'ready', pack, customerId };
}

/**
 * Ends an attempt that could not charge: clears the in-flight claim (only if still this
 * attempt's) and raises one `auto_top_up_failed` alert + outgoing webhook for it.
 */
export async function failAutoTopUp(
  deps: Pick<Deps, 'database' | 'clock'>,
  orgId: string,
  attempt: number,
  reason: string,
  paymentIntentId: string | null,
  message: string,
): Promise<void> {
  await withOrgTx(deps.database, orgId, async (tx) => {
    const r = (await tx.execute(sql`
      UPDATE credit_settings SET auto_top_up_in_flight = NULL
       WHERE org_id = ${orgId}
         AND auto_top_up_in_flight IN (${claimOf(attempt)}, ${paymentIntentId ?? claimOf(attempt)})
      RETURNING auto_top_up_pack AS pack`)) as unknown as Rows<{ pack: string | null }>;
    if (r.rows.length === 0) return;
    await raiseAlert(tx, {
      orgId,
      kind: 'auto_top_up_failed',
      causeKey: `credits.auto_top_up_failed:${orgId}:${attempt}`,
      data: { attempt, pack: r.rows[0]!.pack, reason, message, payment_intent: paymentIntentId },
      at: deps.clock.now(),
    });
  });
}

/**
 * Records a charged (or processing) top-up: the claim now names the payment intent, which stays
 * in flight until the pack grant lands (completeAutoTopUp) — so the still-low balance cannot
 * start a second purchase before the credits arrive.
 */
export async function markTopUpPaid(
  deps: Pick<Deps, 'database' | 'clock'>,
  orgId: string,
  attempt: number,
  pi: Stripe.PaymentIntent,
  pack: Pack,
): Promise<void> {
  await withOrgTx(deps.database, orgId, async (tx) => {
    const r = (await tx.execute(sql`
      UPDATE credit_settings SET auto_top_up_in_flight = ${pi.id}
       WHERE org_id = ${orgId} AND auto_top_up_in_flight = ${claimOf(attempt)}
      RETURNING org_id`)) as unknown as Rows<unknown>;
    if (r.rows.length === 0 || pi.status !== 'succeeded') return;
    await emitOutgoing(tx, {
      orgId,
      type: 'credits.auto_top_up_succeeded',
      causeKey: `credits.auto_top_up_succeeded:${pi.id}`,
      data: {
        attempt,
        pack: pack.key,
        credits: pack.credits,
        amount: pi.amount,
        currency: pi.currency,
        payment_intent: pi.id,
      },
      at: deps.clock.now(),
    });
  });
}
