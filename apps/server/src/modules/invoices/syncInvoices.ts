import type Stripe from 'stripe';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import type { BalanceChange } from '../credit-alerts/afterBalanceChange.ts';
import { notifyBalanceChanges } from '../credits/notifyBalanceChanges.ts';
import { applyInvoice } from './applyInvoice.ts';
import { findBillingOrg } from './repo.ts';

/**
 * Pulls every invoice of the org's Stripe customer into the projection, page by page (newest
 * first, 100 per page). Each page is written with the time just before it was requested as its
 * watermark, so a webhook applied while the page was in flight (observed later) is never
 * overwritten by what the page says. Returns how many invoices Stripe listed.
 */
export async function syncInvoices(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock' | 'logger' | 'env'>,
  orgId: string,
): Promise<number> {
  const org = await withOrgTx(deps.database, orgId, (tx) => findBillingOrg(tx, orgId));
  if (!org?.customerId) return 0;
  const customer = org.customerId;
  let startingAfter: string | undefined;
  let seen = 0;
  for (;;) {
    const observedAt = deps.clock.nowMs();
    let page: Stripe.ApiList<Stripe.Invoice>;
    try {
      page = await withStripeRetry(() =>
        deps.stripe.invoices.list({
          customer,
          limit: 100,
          ...(startingAfter ? { starting_after: startingAfter } : {}),
        }),
      );
    } catch (err) {
      throw stripeErrorToDomain(err, 'reading invoices');
    }
    const creditChanges: BalanceChange[] = [];
    await withOrgTx(deps.database, orgId, async (tx) => {
      for (const invoice of page.data) await applyInvoice(tx, orgId, invoice, observedAt, creditChanges);
    });
    // A paid period found here (a webhook that never came) grants its credits like the webhook
    // would, so the low-balance alerts and auto top-up see that grant too.
    await notifyBalanceChanges(deps, creditChanges);
    seen += page.data.length;
    const last = page.data.at(-1);
    if (!page.has_more || !last) return seen;
    startingAfter = last.id;
  }
}
