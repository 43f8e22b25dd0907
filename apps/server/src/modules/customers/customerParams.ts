import type Stripe from 'stripe';
import type { organizations } from '../../db/schema/index.ts';

type OrgRow = typeof organizations.$inferSelect;

/** What Stripe's customer should say about an org: name, billing email, address, invoice fields. */
export function customerParamsFor(org: OrgRow): Stripe.CustomerCreateParams {
  const params: Stripe.CustomerCreateParams = {
    name: org.name,
    email: org.billingEmail ?? undefined,
    metadata: { tollgate_org_id: org.id },
  };
  if (org.address) params.address = org.address as Stripe.AddressParam;
  if (org.taxIdType && org.taxIdValue)
    params.tax_id_data = [
      { type: org.taxIdType as Stripe.CustomerCreateParams.TaxIdDatum.Type, value: org.taxIdValue },
    ];
  const fields = invoiceCustomFields(org);
  if (fields.length) params.invoice_settings = { custom_fields: fields };
  return params;
}

/** PO number (and tax id) printed on invoices, as Stripe custom fields. */
export function invoiceCustomFields(org: OrgRow): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  if (org.poNumber) out.push({ name: 'PO number', value: org.poNumber });
  if (org.taxIdValue) out.push({ name: 'Tax ID', value: org.taxIdValue });
  return out;
}
