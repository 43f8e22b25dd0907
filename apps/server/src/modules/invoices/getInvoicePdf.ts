import Stripe from 'stripe';
import { withOrgTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { DomainError, notFound } from '../../http/errors.ts';
import { stripeErrorToDomain } from '../../stripe/classifyStripeError.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';
import type { BalanceChange } from '../credit-alerts/afterBalanceChange.ts';
import { notifyBalanceChanges } from '../credits/notifyBalanceChanges.ts';
import { applyInvoice } from './applyInvoice.ts';
import { buildInvoiceDocument } from './invoiceDocument.ts';
import { renderInvoicePdf } from './renderInvoicePdf.ts';
import { findBillingOrg } from './repo.ts';

/**
 * Tollgate's own PDF of one of the org's invoices, rendered from the invoice as Stripe has it now
 * (so a just-paid invoice already says PAID). Another customer's invoice is a 404, exactly like
 * one that does not exist. Drafts have no PDF: their number and amounts are not final.
 */
export async function getInvoicePdf(
  deps: Pick<Deps, 'database' | 'stripe' | 'clock' | 'env' | 'logger'>,
  orgId: string,
  invoiceId: string,
) {
  const org = await withOrgTx(deps.database, orgId, (tx) => findBillingOrg(tx, orgId));
  if (!org?.customerId) throw notFound('invoice');
  const observedAt = deps.clock.nowMs();
  let invoice: Stripe.Invoice;
  let lines: Stripe.InvoiceLineItem[];
  try {
    invoice = await withStripeRetry(() =>
      deps.stripe.invoices.retrieve(invoiceId, { expand: ['total_discount_amounts.discount.source.coupon'] }),
    );
    const owner = typeof invoice.customer === 'string' ? invoice.customer : invoice.customer?.id;
    if (owner !== org.customerId) throw notFound('invoice');
    lines = invoice.lines.has_more ? await allLines(deps, invoiceId) : invoice.lines.data;
  } catch (err) {
    if (err instanceof DomainError) throw err;
    if (err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 404)
      throw notFound('invoice');
    throw stripeErrorToDomain(err, 'reading the invoice');
  }
  if (invoice.status === 'draft' || !invoice.number)
    throw new DomainError('conflict', 'a draft invoice has no PDF until it is finalized', {
      field: 'invoice',
    });
  const creditChanges: BalanceChange[] = [];
  await withOrgTx(deps.database, orgId, (tx) => applyInvoice(tx, orgId, invoice, observedAt, creditChanges));
  await notifyBalanceChanges(deps, creditChanges);

  const doc = buildInvoiceDocument({
    invoice,
    lines,
    seller: {
      name: deps.env.INVOICE_SELLER_NAME,
      address: deps.env.INVOICE_SELLER_ADDRESS,
      taxId: deps.env.INVOICE_SELLER_TAX_ID,
    },
    orgTaxId: org.taxIdValue ? { type: org.taxIdType, value: org.taxIdValue } : null,
  });
  return {
    filename: `${invoice.number.replace(/[^A-Za-z0-9._-]/g, '_')}.pdf`,
    stream: renderInvoicePdf(doc),
  };
}

async function allLines(deps: Pick<Deps, 'stripe'>, invoiceId: string) {
  const lines: Stripe.InvoiceLineItem[] = [];
  let startingAfter: string | undefined;
  for (;;) {
    const page = await withStripeRetry(() =>
      deps.stripe.invoices.listLineItems(invoiceId, {
        limit: 100,
        ...(startingAfter ? { starting_after: startingAfter } : {}),
      }),
    );
    lines.push(...page.data);
    const last = page.data.at(-1);
    if (!page.has_more || !last) return lines;
    startingAfter = last.id;
  }
}
