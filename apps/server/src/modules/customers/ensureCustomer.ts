import { eq } from 'drizzle-orm';
import type Stripe from 'stripe';
import { organizations } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { notFound } from '../../http/errors.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { customerParamsFor } from './customerParams.ts';

/**
 * The org's Stripe customer, created on first need. Exactly one per org, even when many first
 * calls race: every racer sends the same deterministic idempotency key, so Stripe answers all of
 * them with the one customer it created, and the conditional UPDATE below stores it once.
 * The Stripe call happens outside any transaction (a slow Stripe never holds a row lock).
 */
export async function ensureCustomer(
  deps: Pick<Deps, 'database' | 'stripe'>,
  orgId: string,
): Promise<string> {
  const org = await withOrgTx(deps.database, orgId, (tx) =>
    tx
      .select()
      .from(organizations)
      .where(eq(organizations.id, orgId))
      .then((r) => r[0]),
  );
  if (!org) throw notFound('org');
  if (org.stripeCustomerId) return org.stripeCustomerId;

  let customer: Stripe.Customer;
  try {
    customer = await withStripeRetry(
      () =>
        deps.stripe.customers.create(customerParamsFor(org), {
          idempotencyKey: idempotencyKey(orgId, 'customer.create'),
        }),
      // A concurrent twin of this request may still be in flight at Stripe (409): wait for its result.
      { attempts: 5, retryConflicts: true },
    );
  } catch (err) {
    throw stripeErrorToDomain(err, 'creating the billing customer');
  }

  return withOrgTx(deps.database, orgId, async (tx) => {
    const [row] = await tx
      .select({ id: organizations.stripeCustomerId })
      .from(organizations)
      .where(eq(organizations.id, orgId))
      .for('update');
    if (row?.id) return row.id;
    await tx.update(organizations).set({ stripeCustomerId: customer.id }).where(eq(organizations.id, orgId));
    return customer.id;
  });
}
