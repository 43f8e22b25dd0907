import { z } from 'zod';
import type { Deps } from '../../deps.ts';
import { requireOrg } from '../../http/auth/orgAccess.ts';
import { authErrors, errorBody, limitQuery, orgIdParam } from '../../http/schemas.ts';
import type { App } from '../../http/types.ts';
import { getInvoicePdf } from './getInvoicePdf.ts';
import { listInvoices } from './listInvoices.ts';

const invoiceId = z.string().regex(/^in_[A-Za-z0-9]{1,64}$/, 'must be an invoice id (in_...)');
const date = z.string().nullable();

export const invoiceView = z
  .object({
    id: z.string(),
    number: z.string().nullable(),
    status: z.enum(['open', 'paid', 'void', 'uncollectible', 'draft']),
    billing_reason: z.string().nullable(),
    collection_method: z.string().nullable(),
    currency: z.string(),
    subtotal: z.number().int(),
    total: z.number().int(),
    amount_due: z.number().int(),
    amount_paid: z.number().int(),
    amount_remaining: z.number().int(),
    created: z.string(),
    period_start: date,
    period_end: date,
    due_date: date.describe('send_invoice only: when payment is due (finalization + days_until_due)'),
    paid_at: date,
    subscription_id: z.string().nullable(),
    hosted_invoice_url: z.string().nullable().describe("Stripe's page where the customer can pay"),
    pdf_url: z.string().describe("Tollgate's PDF of the invoice (same credentials as this call)"),
  })
  .meta({ id: 'Invoice' });

export function registerInvoiceRoutes(app: App, deps: Deps) {
  app.get(
    '/v1/orgs/:org/invoices',
    {
      schema: {
        tags: ['invoices'],
        summary: "The org's invoices, newest first (number, status, amounts, dates, links)",
        description:
          'Read from the local projection, refreshed from Stripe when older than a minute, when a subscription has a newer invoice, or with `refresh=true`. Drafts are not listed. Cursor pagination: pass the last id as `starting_after`.',
        params: z.object({ org: orgIdParam }),
        querystring: z
          .object({
            limit: limitQuery(20),
            starting_after: invoiceId.optional(),
            refresh: z.enum(['true', 'false']).optional(),
          })
          .strict(),
        response: {
          200: z.object({ data: z.array(invoiceView), has_more: z.boolean() }),
          ...authErrors,
          503: errorBody,
        },
      },
    },
    async (request) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      const q = request.query;
      const page = await listInvoices(deps, ctx.orgId, {
        limit: q.limit,
        startingAfter: q.starting_after,
        refresh: q.refresh === 'true',
      });
      return page as { data: z.infer<typeof invoiceView>[]; has_more: boolean };
    },
  );

  app.get(
    '/v1/orgs/:org/invoices/:invoice/pdf',
    {
      schema: {
        tags: ['invoices'],
        summary: 'Download the invoice as a PDF (seller, customer, PO number, tax id, lines, totals, status)',
        params: z.object({ org: orgIdParam, invoice: invoiceId }),
        response: {
          200: {
            description: 'The invoice PDF (`content-disposition: attachment; filename="<number>.pdf"`)',
            content: { 'application/pdf': { schema: z.string().meta({ format: 'binary' }) } },
          },
          ...authErrors,
          409: errorBody,
          503: errorBody,
        },
      },
    },
    async (request, reply) => {
      const ctx = await requireOrg(deps, request, request.params.org, 'member');
      const pdf = await getInvoicePdf(deps, ctx.orgId, request.params.invoice);
      return (
        reply
          .header('content-type', 'application/pdf')
          .header('content-disposition', `attachment; filename="${pdf.filename}"`)
          .header('cache-control', 'private, no-store')
          // A stream is sent as is (no serialization); the typed reply only knows the JSON bodies.
          .send(pdf.stream as never)
      );
    },
  );
}
