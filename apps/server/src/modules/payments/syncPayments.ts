import type Stripe from 'stripe';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { syncInvoices } from '../invoices/syncInvoices.ts';
import { applyPayment, wasAttempted } from './applyPayment.ts';
import { findCustomerId, knownPaymentIds } from './historyRepo.ts';

/** Expansions that give a PaymentIntent's outcome, card and refunds in the one list call. */
export const PAYMENT_EXPAND = ['latest_charge', 'latest_charge.refunds'];

/**
 * Projects every PaymentIntent of the org's customer (with its latest charge and refunds) into
 * the payment history. A PaymentIntent seen for the first time is matched to its invoice through
 * Stripe's invoice payments (since API 2025-03-31 neither side names the other). An invoice's
 * PaymentIntent that nobody tried to pay yet (an institution's open invoice) is left out: the
 * invoice list already shows it as due. Returns how many PaymentIntents Stripe listed.
 */
export async function syncPayments(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock' | 'logger' | 'env'>,
  orgId: string,
): Promise<number> {
  const customer = await withOrgTx(deps.database, orgId, (tx) => findCustomerId(tx, orgId));
  if (!customer) return 0;
  let startingAfter: string | undefined;
  let seen = 0;
  let newInvoicePayments = false;
  for (;;) {
    const observedAt = deps.clock.nowMs();
    const page = await stripe('reading payments', () =>
      deps.stripe.paymentIntents.list({
        customer,
        limit: 100,
        expand: PAYMENT_EXPAND.map((p) => `data.${p}`),
        ...(startingAfter ? { starting_after: startingAfter } : {}),
      }),
    );
    const ids = page.data.map((pi) => pi.id);
    const known = await withOrgTx(deps.database, orgId, (tx) => knownPaymentIds(tx, orgId, ids));
    const links = new Map<string, string | null>();
    for (const pi of page.data)
      if (!known.has(pi.id)) links.set(pi.id, await stripe('reading payments', () => invoiceOf(deps, pi.id)));
    await withOrgTx(deps.database, orgId, async (tx) => {
      for (const pi of page.data) {
        const invoiceId = links.get(pi.id) ?? null;
        if (!known.has(pi.id) && invoiceId) {
          if (!wasAttempted(pi)) continue;
          newInvoicePayments = true;
        }
        await applyPayment(tx, orgId, pi, invoiceId, observedAt);
      }
    });
    seen += page.data.length;
    const last = page.data.at(-1);
    if (!page.has_more || !last) break;
    startingAfter = last.id;
  }
  // New payments of invoices the projection may not have yet: refresh it, so the history shows
  // their numbers (a full sync, so the invoice list's own freshness stays truthful).
  if (newInvoicePayments) await syncInvoices(deps, orgId);
  return seen;
}

/** The invoice a PaymentIntent pays, if any. */
export async function invoiceOf(deps: Pick<Deps, 'stripe'>, paymentIntentId: string): Promise<string | null> {
  const list: Stripe.ApiList<Stripe.InvoicePayment> = await withStripeRetry(() =>
    deps.stripe.invoicePayments.list({
      payment: { type: 'payment_intent', payment_intent: paymentIntentId },
      limit: 1,
    }),
  );
  const inv = list.data[0]?.invoice;
  return typeof inv === 'string' ? inv : (inv?.id ?? null);
}

/** A Stripe read with retries; what still fails becomes the API's 503 (or 500 for a bug). */
async function stripe<T>(doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await withStripeRetry(fn);
  } catch (err) {
    throw stripeErrorToDomain(err, doing);
  }
}
