import { eq } from 'drizzle-orm';
import type Stripe from 'stripe';
import { organizations } from '../../db/schema/index.ts';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import { invoiceCustomFields } from './customerParams.ts';

/**
 * Pushes the org's billing profile (name, email, address, invoice fields, tax id) to its Stripe
 * customer, if it has one. The key includes the org's updated_at, so each saved version of the
 * profile is sent once however often this is retried.
 */
export async function syncCustomer(deps: Pick<Deps, 'database' | 'stripe'>, orgId: string): Promise<void> {
  const org = await withOrgTx(deps.database, orgId, (tx) =>
    tx
      .select()
      .from(organizations)
      .where(eq(organizations.id, orgId))
      .then((r) => r[0]),
  );
  if (!org?.stripeCustomerId) return;
  const version = org.updatedAt.getTime();
  const params: Stripe.CustomerUpdateParams = {
    name: org.name,
    email: org.billingEmail ?? '',
    address: (org.address as Stripe.AddressParam | null) ?? '',
    invoice_settings: { custom_fields: invoiceCustomFields(org).length ? invoiceCustomFields(org) : '' },
  };
  try {
    await withStripeRetry(() =>
      deps.stripe.customers.update(org.stripeCustomerId!, params, {
        idempotencyKey: idempotencyKey(orgId, 'customer.update', version),
      }),
    );
    if (org.taxIdType && org.taxIdValue) {
      const existing = await deps.stripe.customers.listTaxIds(org.stripeCustomerId, { limit: 100 });
      if (!existing.data.some((t) => t.value === org.taxIdValue && t.type === org.taxIdType)) {
        await withStripeRetry(() =>
          deps.stripe.customers.createTaxId(
            org.stripeCustomerId!,
            { type: org.taxIdType as Stripe.CustomerCreateTaxIdParams.Type, value: org.taxIdValue! },
            { idempotencyKey: idempotencyKey(orgId, 'customer.tax_id', org.taxIdType!, org.taxIdValue!) },
          ),
        );
      }
    }
  } catch (err) {
    throw stripeErrorToDomain(err, 'updating the billing customer');
  }
}
