import { eq } from 'drizzle-orm';
import { organizations } from '../../db/schema/index.ts';
import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';

/** The Stripe customer an event's object belongs to (customer objects are their own). */
export function customerOf(object: Record<string, unknown>): string | null {
  if (object.object === 'customer') return typeof object.id === 'string' ? object.id : null;
  const c = object.customer;
  if (typeof c === 'string') return c;
  if (c && typeof c === 'object' && typeof (c as { id?: unknown }).id === 'string')
    return (c as { id: string }).id;
  return null;
}

/**
 * The org an event concerns: by our stored customer id, else by the customer's
 * `tollgate_org_id` metadata (an event may arrive before our own write of the customer id).
 * null = not one of ours: the event is ignored.
 */
export async function resolveOrg(
  deps: Pick<Deps, 'database' | 'stripe'>,
  object: Record<string, unknown>,
): Promise<string | null> {
  const metaOrg = (object.metadata as Record<string, string> | undefined)?.tollgate_org_id;
  let customer = customerOf(object);
  // Disputes name a charge, not a customer.
  if (!customer && object.object === 'dispute' && typeof object.charge === 'string') {
    const charge = await deps.stripe.charges.retrieve(object.charge).catch(() => null);
    customer = typeof charge?.customer === 'string' ? charge.customer : (charge?.customer?.id ?? null);
  }
  const found = await withSystemTx(deps.database, async (tx) => {
    if (customer) {
      const [row] = await tx
        .select({ id: organizations.id })
        .from(organizations)
        .where(eq(organizations.stripeCustomerId, customer));
      if (row) return row.id;
    }
    if (metaOrg) {
      const [row] = await tx
        .select({ id: organizations.id })
        .from(organizations)
        .where(eq(organizations.id, metaOrg));
      if (row) return row.id;
    }
    return null;
  });
  if (found || !customer) return found;
  const cus = await deps.stripe.customers.retrieve(customer).catch(() => null);
  const viaCustomer = cus && !('deleted' in cus && cus.deleted) ? cus.metadata?.tollgate_org_id : undefined;
  if (!viaCustomer) return null;
  return withSystemTx(deps.database, async (tx) => {
    const [row] = await tx
      .select({ id: organizations.id })
      .from(organizations)
      .where(eq(organizations.id, viaCustomer));
    return row?.id ?? null;
  });
}
