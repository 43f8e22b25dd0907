import { and, eq, notInArray } from 'drizzle-orm';
import { paymentMethods } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import type { PaymentMethodView } from './presentPaymentMethod.ts';

/** Stores the card summaries Stripe just returned; cards no longer listed are marked detached. */
export async function saveCardProjection(
  deps: Pick<Deps, 'database' | 'clock'>,
  orgId: string,
  customerId: string,
  cards: PaymentMethodView[],
) {
  await withOrgTx(deps.database, orgId, async (tx) => {
    for (const c of cards) {
      const row = {
        orgId,
        customerId,
        brand: c.brand,
        last4: c.last4,
        expMonth: c.exp_month,
        expYear: c.exp_year,
        isDefault: c.is_default,
        detachedAt: null,
      };
      await tx
        .insert(paymentMethods)
        .values({ id: c.id, ...row })
        .onConflictDoUpdate({ target: paymentMethods.id, set: row });
    }
    const live = cards.map((c) => c.id);
    await tx
      .update(paymentMethods)
      .set({ detachedAt: deps.clock.now(), isDefault: false })
      .where(
        and(eq(paymentMethods.orgId, orgId), live.length ? notInArray(paymentMethods.id, live) : undefined),
      );
  });
}
