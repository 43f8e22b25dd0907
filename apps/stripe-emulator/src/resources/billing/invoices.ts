/**
 * /v1/invoices: create, retrieve, update, delete (drafts), list, search, finalize, pay, void,
 * mark_uncollectible, send, lines, create_preview; /v1/invoice_payments; the hosted invoice
 * page and its PDF (`/_emulator/invoice/:id`, `/_emulator/invoice/:id/pdf`).
 */
import { ControlReply, escapeHtml, htmlReply, redirectReply } from '../../control/reply.ts';
import type { Emulator } from '../../core/context.ts';
import { diff, emitEvent, nowFor, testClockOf } from '../../core/events.ts';
import { inRange, listOf, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { defineJob, scheduleJob } from '../../core/scheduler.ts';
import { searchRows } from '../../core/search.ts';
import { invalidRequest, parameterMissing } from '../../http/errors.ts';
import { type InferShape, p } from '../../http/params.ts';
import { Customers } from '../customers/tables.ts';
import { PaymentIntents } from '../payments/tables.ts';
import { keepOr, mergeMetadata } from '../shared.ts';
import { createDiscounts, discountParams, resolveDiscountSpecs } from './discounts.ts';
import { pendingInvoiceItems } from './invoice-item-ops.ts';
import {
  attemptPayment,
  checkPaymentMethodParam,
  collectInvoice,
  createInvoice,
  finalizeInvoice,
  invoiceLines,
  markPaid,
  markUncollectible,
  NO_PAYMENT_METHOD_MESSAGE,
  refreshDraft,
  resolveInvoicePaymentMethod,
  sendInvoice,
  usePaymentMethod,
  voidInvoice,
} from './invoice-ops.ts';
import { createPreview, createPreviewParams } from './preview.ts';
import { InvoiceItems, InvoicePayments, type InvoiceRow, Invoices, Subscriptions } from './tables.ts';
import { formatDate, formatMoney } from './time-money.ts';

const customFieldsParams = p.emptyable(
  p.array(
    p.object({
      name: p.required(p.string({ maxLength: 40 })),
      value: p.required(p.string({ maxLength: 140 })),
    }),
    {
      max: 4,
    },
  ),
);

const ignored = {
  account_tax_ids: p.any(),
  application_fee_amount: p.any(),
  automatic_tax: p.any(),
  default_source: p.any(),
  default_tax_rates: p.any(),
  issuer: p.any(),
  on_behalf_of: p.any(),
  payment_settings: p.any(),
  rendering: p.any(),
  shipping_cost: p.any(),
  shipping_details: p.any(),
  statement_descriptor: p.any(),
  transfer_data: p.any(),
  effective_at: p.any(),
};

const createParams = {
  ...ignored,
  customer: p.string(),
  customer_account: p.string(),
  subscription: p.string(),
  auto_advance: p.bool(),
  automatically_finalizes_at: p.timestamp(),
  collection_method: p.enum(['charge_automatically', 'send_invoice']),
  currency: p.currency(),
  custom_fields: customFieldsParams,
  days_until_due: p.int({ min: 0, max: 730 }),
  default_payment_method: p.string(),
  description: p.string({ maxLength: 1500 }),
  discounts: discountParams,
  due_date: p.timestamp(),
  footer: p.string({ maxLength: 5000 }),
  from_invoice: p.any(),
  metadata: p.metadata(),
  number: p.string(),
  pending_invoice_items_behavior: p.enum(['exclude', 'include']),
};

const updateParams = {
  ...ignored,
  auto_advance: p.bool(),
  automatically_finalizes_at: p.timestamp(),
  collection_method: p.enum(['charge_automatically', 'send_invoice']),
  custom_fields: customFieldsParams,
  days_until_due: p.int({ min: 0, max: 730 }),
  default_payment_method: p.emptyable(p.string()),
  description: p.emptyable(p.string({ maxLength: 1500 })),
  discounts: discountParams,
  due_date: p.timestamp(),
  footer: p.emptyable(p.string({ maxLength: 5000 })),
  metadata: p.metadata(),
  number: p.emptyable(p.string()),
};

const searchFields = {
  created: (i: InvoiceRow) => i.created,
  currency: (i: InvoiceRow) => i.currency,
  customer: (i: InvoiceRow) => i.customer,
  metadata: (i: InvoiceRow) => i.metadata,
  number: (i: InvoiceRow) => i.number,
  receipt_number: (i: InvoiceRow) => i.receipt_number,
  status: (i: InvoiceRow) => i.status,
  subscription: (i: InvoiceRow) => i.parent?.subscription_details?.subscription ?? null,
  total: (i: InvoiceRow) => i.total,
};

function requireInvoice(ctx: Emulator, id: string): InvoiceRow {
  return ctx.store.of(Invoices).require(id);
}

/** Auto-advancing invoices finalized by hand are collected right after (like Stripe). */
const collectJob = defineJob<{ invoice: string }>('billing.invoice_collect', (ctx, p) => {
  const invoice = ctx.store.of(Invoices).get(p.invoice);
  if (invoice?.status === 'open' && invoice.auto_advance) collectInvoice(ctx, invoice);
});

function createManualInvoice(ctx: Emulator, params: InferShape<typeof createParams>): InvoiceRow {
  if (!params.customer && !params.subscription) throw parameterMissing('customer');
  const sub = params.subscription
    ? ctx.store.of(Subscriptions).require(params.subscription, 'subscription')
    : null;
  const customerId = params.customer ?? (sub!.customer as string);
  const customer = ctx.store.of(Customers).require(customerId, 'customer');
  if (sub && sub.customer !== customer.id) {
    throw invalidRequest(
      `The subscription ${sub.id} does not belong to customer ${customer.id}.`,
      'subscription',
    );
  }
  const collectionMethod = params.collection_method ?? 'charge_automatically';
  if (
    collectionMethod === 'send_invoice' &&
    params.days_until_due === undefined &&
    params.due_date === undefined
  ) {
    throw invalidRequest(
      'Invoices with `collection_method=send_invoice` need `days_until_due` or `due_date`.',
      'days_until_due',
      'parameter_missing',
    );
  }
  if (
    collectionMethod === 'charge_automatically' &&
    (params.days_until_due !== undefined || params.due_date !== undefined)
  ) {
    throw invalidRequest(
      'You can only set `days_until_due` or `due_date` on invoices with `collection_method=send_invoice`.',
      params.days_until_due !== undefined ? 'days_until_due' : 'due_date',
    );
  }
  const include = (params.pending_invoice_items_behavior ?? 'exclude') === 'include' || sub !== null;
  const pending = include
    ? pendingInvoiceItems(ctx, customer.id, sub?.id ?? null, { subscriptionOnly: sub !== null })
    : [];
  const currency = params.currency ?? pending[0]?.currency ?? sub?.currency ?? customer.currency ?? 'usd';
  const items = pending.filter((ii) => ii.currency === currency);
  const pm = params.default_payment_method
    ? checkPaymentMethodParam(ctx, params.default_payment_method, customer.id, 'default_payment_method')
    : null;
  const specs = resolveDiscountSpecs(ctx, params.discounts ?? [], customer.id);
  const now = nowFor(ctx, customer);
  const id = ctx.store.of(Invoices).newId();
  const discounts = createDiscounts(ctx, specs, { customer: customer.id, invoice: id }, now);
  const invoice = createInvoice(
    ctx,
    {
      customer,
      currency,
      subscription: sub,
      billingReason: 'manual',
      collectionMethod,
      daysUntilDue: params.days_until_due ?? null,
      dueDate: params.due_date ?? null,
      autoAdvance: params.auto_advance ?? false,
      description: params.description ?? null,
      metadata: mergeMetadata({}, params.metadata),
      customFields: params.custom_fields ?? null,
      footer: params.footer ?? null,
      defaultPaymentMethod: pm ? usePaymentMethod(ctx, pm, customer.id, 'default_payment_method') : null,
      discounts,
      lines: [],
      items,
      periodStart: now,
      periodEnd: now,
      created: now,
    },
    id,
  );
  return invoice;
}

function updateInvoice(ctx: Emulator, old: InvoiceRow, params: InferShape<typeof updateParams>): InvoiceRow {
  const draft = old.status === 'draft';
  const draftOnly = ['collection_method', 'days_until_due', 'due_date', 'discounts', 'number'] as const;
  if (!draft) {
    const bad = draftOnly.find((k) => (params as Record<string, unknown>)[k] !== undefined);
    if (bad) {
      throw invalidRequest(
        `You can only update \`${bad}\` on draft invoices; this invoice is ${old.status}.`,
        bad,
        'invoice_not_editable',
      );
    }
    if (
      old.status !== 'open' &&
      (params.auto_advance !== undefined || params.default_payment_method !== undefined)
    ) {
      throw invalidRequest(
        `This invoice is ${old.status} and can no longer be changed.`,
        undefined,
        'invoice_not_editable',
      );
    }
  }
  const customer = old.customer as string;
  const collectionMethod = params.collection_method ?? old.collection_method;
  let dueDate = old.due_date;
  if (params.due_date !== undefined) dueDate = params.due_date;
  else if (params.days_until_due !== undefined) dueDate = old.created + params.days_until_due * 86_400;
  if (collectionMethod === 'charge_automatically') dueDate = null;
  else if (dueDate === null) {
    throw invalidRequest(
      'Invoices with `collection_method=send_invoice` need `days_until_due` or `due_date`.',
      'days_until_due',
      'parameter_missing',
    );
  }
  let pm = old.default_payment_method;
  if (params.default_payment_method !== undefined) {
    pm =
      params.default_payment_method === null
        ? null
        : usePaymentMethod(
            ctx,
            checkPaymentMethodParam(ctx, params.default_payment_method, customer, 'default_payment_method'),
            customer,
            'default_payment_method',
          );
  }
  let discounts = old.discounts;
  if (params.discounts !== undefined) {
    const specs = resolveDiscountSpecs(ctx, params.discounts ?? [], customer);
    discounts = createDiscounts(ctx, specs, { customer, invoice: old.id }, nowFor(ctx, old));
  }
  const autoAdvance = params.auto_advance ?? old.auto_advance;
  const patch: Partial<InvoiceRow> = {
    auto_advance: autoAdvance,
    collection_method: collectionMethod,
    custom_fields: params.custom_fields === undefined ? old.custom_fields : params.custom_fields,
    default_payment_method: pm,
    description: keepOr(params.description, old.description),
    discounts,
    due_date: dueDate,
    footer: keepOr(params.footer, old.footer),
    metadata: mergeMetadata(old.metadata ?? {}, params.metadata),
  };
  const table = ctx.store.of(Invoices);
  let next: InvoiceRow;
  if (draft) {
    const finalizesAt = autoAdvance
      ? (params.automatically_finalizes_at ?? old.automatically_finalizes_at ?? old.created + 3600)
      : null;
    next = refreshDraft(ctx, old, {
      ...patch,
      automatically_finalizes_at: finalizesAt,
      next_payment_attempt: collectionMethod === 'charge_automatically' ? finalizesAt : null,
    });
    ctx.scheduler.cancel(`invoice-finalize:${old.id}`);
    if (finalizesAt !== null) {
      scheduleJob(ctx, autoFinalizeFromUpdate, {
        clock: testClockOf(ctx, next),
        at: finalizesAt,
        payload: { invoice: old.id },
        key: `invoice-finalize:${old.id}`,
      });
    }
  } else {
    next = table.replace({ ...old, ...patch });
  }
  const previous = diff(old, next);
  if (Object.keys(previous).length) emitEvent(ctx, 'invoice.updated', next, { previousAttributes: previous });
  return next;
}

const autoFinalizeFromUpdate = defineJob<{ invoice: string }>(
  'billing.invoice_auto_finalize_updated',
  (ctx, p) => {
    const invoice = ctx.store.of(Invoices).get(p.invoice);
    if (invoice?.status !== 'draft' || !invoice.auto_advance) return;
    collectInvoice(ctx, finalizeInvoice(ctx, invoice));
  },
);

function payInvoice(
  ctx: Emulator,
  invoice: InvoiceRow,
  params: { payment_method?: string; off_session?: boolean; paid_out_of_band?: boolean; forgive?: boolean },
): InvoiceRow {
  let current = invoice;
  if (current.status === 'paid') {
    throw invalidRequest('Invoice is already paid', undefined, 'invoice_already_paid');
  }
  if (current.status === 'void') {
    throw invalidRequest(
      'This invoice has been voided and can no longer be paid.',
      undefined,
      'invoice_not_editable',
    );
  }
  const customer = current.customer as string;
  const pmChecked = params.payment_method
    ? checkPaymentMethodParam(ctx, params.payment_method, customer, 'payment_method')
    : null;
  if (current.status === 'draft') current = finalizeInvoice(ctx, current);
  if (current.status === 'paid') return current;
  if (params.paid_out_of_band) return markPaid(ctx, current, { outOfBand: true });
  const pm = pmChecked
    ? usePaymentMethod(ctx, pmChecked, customer, 'payment_method')
    : resolveInvoicePaymentMethod(ctx, current);
  if (!pm) {
    throw invalidRequest(NO_PAYMENT_METHOD_MESSAGE, undefined, 'invoice_no_payment_method_types');
  }
  const result = attemptPayment(ctx, current, {
    paymentMethod: pm,
    offSession: params.off_session ?? true,
    automatic: false,
  });
  if (result.outcome !== 'paid' && result.failure) throw result.failure;
  return result.invoice;
}

// ---------------------------------------------------------------------------------------------
// Hosted invoice page and PDF

function hostedPage(
  invoice: InvoiceRow,
  lines: ReturnType<typeof invoiceLines>,
  customerName: string,
): string {
  const rows = lines
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.description ?? '')}</td><td class="n">${escapeHtml(formatMoney(l.amount, l.currency))}</td></tr>`,
    )
    .join('');
  const payable = invoice.status === 'open';
  const form = payable
    ? `<form method="post" action="/_emulator/invoice/${escapeHtml(invoice.id)}/pay">
<label>Test card <select name="payment_method"><option value="pm_card_visa">Visa 4242 (succeeds)</option>
<option value="pm_card_chargeDeclined">4000 0000 0000 0002 (declined)</option></select></label>
<button id="pay">Pay ${escapeHtml(formatMoney(invoice.amount_remaining, invoice.currency))}</button></form>`
    : `<p id="status">Status: <strong>${escapeHtml(String(invoice.status))}</strong></p>`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>Invoice ${escapeHtml(invoice.number ?? invoice.id)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto}table{width:100%;border-collapse:collapse}
td{padding:.3rem;border-bottom:1px solid #ddd}.n{text-align:right}</style></head><body>
<h1>Invoice ${escapeHtml(invoice.number ?? '(draft)')}</h1>
<p>Billed to ${escapeHtml(customerName)} · ${invoice.due_date ? `due ${escapeHtml(formatDate(invoice.due_date))}` : `issued ${escapeHtml(formatDate(invoice.effective_at ?? invoice.created))}`}</p>
<table>${rows}<tr><td><strong>Total</strong></td><td class="n"><strong>${escapeHtml(formatMoney(invoice.total, invoice.currency))}</strong></td></tr>
<tr><td>Amount due</td><td class="n" id="amount-due">${escapeHtml(formatMoney(invoice.amount_due, invoice.currency))}</td></tr></table>
${form}<p><a href="/_emulator/invoice/${escapeHtml(invoice.id)}/pdf">Download PDF</a></p></body></html>`;
}

/** A small but valid PDF (one page, Helvetica text lines, correct xref offsets). */
export function invoicePdf(title: string, lines: string[]): string {
  const esc = (s: string) => s.replace(/[^\x20-\x7e]/g, '?').replace(/([()\\])/g, '\\$1');
  const text = [title, '', ...lines]
    .map((line, i) => `BT /F1 ${i === 0 ? 16 : 11} Tf 50 ${780 - i * 18} Td (${esc(line)}) Tj ET`)
    .join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
    `<< /Length ${text.length} >>\nstream\n${text}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return out;
}

// ---------------------------------------------------------------------------------------------

export const invoicesModule: EmulatorModule = {
  name: 'invoices',
  register(app) {
    app.post('/v1/invoices', createParams, (req) => createManualInvoice(req.ctx, req.params));

    app.post('/v1/invoices/create_preview', createPreviewParams, (req) => createPreview(req.ctx, req.params));

    app.search('/v1/invoices/search', {}, (req) =>
      searchRows(req, req.ctx.store.of(Invoices).sorted(), searchFields, 'invoices'),
    );

    app.get('/v1/invoices/:id', {}, (req) => requireInvoice(req.ctx, req.path.id!));

    app.post('/v1/invoices/:id', updateParams, (req) =>
      updateInvoice(req.ctx, requireInvoice(req.ctx, req.path.id!), req.params),
    );

    app.del('/v1/invoices/:id', {}, (req) => {
      const { ctx } = req;
      const invoice = requireInvoice(ctx, req.path.id!);
      if (invoice.status !== 'draft') {
        throw invalidRequest(
          'You can only delete draft invoices. Finalized invoices can be voided instead.',
          undefined,
          'invoice_not_editable',
        );
      }
      if (invoice.parent?.subscription_details && invoice.billing_reason !== 'manual') {
        throw invalidRequest(
          "You can't delete invoices created by subscriptions. You can void them once finalized.",
          undefined,
          'invoice_not_editable',
        );
      }
      const items = ctx.store.of(InvoiceItems);
      for (const item of items.sorted((ii) => ii.invoice === invoice.id))
        items.update(item.id, { invoice: null });
      ctx.scheduler.cancel(`invoice-finalize:${invoice.id}`);
      ctx.store.of(Invoices).delete(invoice.id);
      emitEvent(ctx, 'invoice.deleted', invoice);
      return { id: invoice.id, object: 'invoice', deleted: true };
    });

    app.list(
      '/v1/invoices',
      {
        customer: p.string(),
        customer_account: p.string(),
        subscription: p.string(),
        status: p.enum(['draft', 'open', 'paid', 'uncollectible', 'void']),
        collection_method: p.enum(['charge_automatically', 'send_invoice']),
        created: p.range(),
        due_date: p.range(),
      },
      (req) => {
        const { customer, subscription, status, collection_method, created, due_date } = req.params;
        const table = req.ctx.store.of(Invoices);
        const rows = table.sorted(
          (i) =>
            (!customer || i.customer === customer) &&
            (!subscription || i.parent?.subscription_details?.subscription === subscription) &&
            (!status || i.status === status) &&
            (!collection_method || i.collection_method === collection_method) &&
            inRange(i.created, created) &&
            (!due_date || (i.due_date !== null && inRange(i.due_date, due_date))),
        );
        return paginate(req, rows, table);
      },
    );

    app.post('/v1/invoices/:id/finalize', { auto_advance: p.bool() }, (req) => {
      const { ctx } = req;
      const invoice = finalizeInvoice(ctx, requireInvoice(ctx, req.path.id!), {
        autoAdvance: req.params.auto_advance,
      });
      if (invoice.status === 'open' && invoice.auto_advance) {
        scheduleJob(ctx, collectJob, {
          clock: testClockOf(ctx, invoice),
          at: nowFor(ctx, invoice),
          payload: { invoice: invoice.id },
          key: `invoice-collect:${invoice.id}`,
        });
      }
      return invoice;
    });

    app.post(
      '/v1/invoices/:id/pay',
      {
        payment_method: p.string(),
        off_session: p.bool(),
        paid_out_of_band: p.bool(),
        forgive: p.bool(),
        mandate: p.any(),
        source: p.string(),
      },
      (req) => payInvoice(req.ctx, requireInvoice(req.ctx, req.path.id!), req.params),
    );

    app.post('/v1/invoices/:id/void', {}, (req) =>
      voidInvoice(req.ctx, requireInvoice(req.ctx, req.path.id!)),
    );

    app.post('/v1/invoices/:id/mark_uncollectible', {}, (req) =>
      markUncollectible(req.ctx, requireInvoice(req.ctx, req.path.id!)),
    );

    app.post('/v1/invoices/:id/send', {}, (req) =>
      sendInvoice(req.ctx, requireInvoice(req.ctx, req.path.id!)),
    );

    app.list('/v1/invoices/:id/lines', {}, (req) => {
      const invoice = requireInvoice(req.ctx, req.path.id!);
      const lines = invoiceLines(req.ctx, invoice.id);
      return paginate(req, lines);
    });

    app.list(
      '/v1/invoice_payments',
      {
        invoice: p.string(),
        payment: p.object({
          type: p.required(p.enum(['payment_intent', 'payment_record'])),
          payment_intent: p.string(),
          payment_record: p.string(),
        }),
        status: p.enum(['canceled', 'open', 'paid']),
        created: p.range(),
      },
      (req) => {
        const { invoice, payment, status, created } = req.params;
        const table = req.ctx.store.of(InvoicePayments);
        const rows = table.sorted(
          (x) =>
            (!invoice || x.invoice === invoice) &&
            (!payment?.payment_intent || x.payment.payment_intent === payment.payment_intent) &&
            (!payment || x.payment.type === payment.type) &&
            (!status || x.status === status) &&
            inRange(x.created, created),
        );
        return paginate(req, rows, table);
      },
    );

    app.get('/v1/invoice_payments/:id', {}, (req) => req.ctx.store.of(InvoicePayments).require(req.path.id!));

    // Includable fields: `payments` and `confirmation_secret` (expand[]=...).
    app.virtualExpansion('invoice', 'payments', (ctx, row) =>
      listOf(
        ctx.store.of(InvoicePayments).sorted((x) => x.invoice === row.id),
        `/v1/invoice_payments?invoice=${row.id as string}`,
      ),
    );
    app.virtualExpansion('invoice', 'confirmation_secret', (ctx, row) => {
      const piId = ctx.store.of(Invoices).meta(row.id as string)?.paymentIntent;
      const pi = piId ? ctx.store.of(PaymentIntents).get(piId) : undefined;
      return pi?.client_secret ? { client_secret: pi.client_secret, type: 'payment_intent' } : null;
    });

    app.control('GET', '/_emulator/invoice/:id', (ctx, _body, path) => {
      const invoice = ctx.store.of(Invoices).get(path.id!);
      if (!invoice || invoice.status === 'draft')
        return htmlReply('<!doctype html><p>No such invoice.</p>', 404);
      const customer = ctx.store.of(Customers).get(invoice.customer as string);
      return htmlReply(
        hostedPage(
          invoice,
          invoiceLines(ctx, invoice.id),
          customer?.name ?? customer?.email ?? String(invoice.customer),
        ),
      );
    });

    app.control('POST', '/_emulator/invoice/:id/pay', (ctx, body, path) => {
      const invoice = ctx.store.of(Invoices).get(path.id!);
      if (!invoice) return htmlReply('<!doctype html><p>No such invoice.</p>', 404);
      const pm = typeof body.payment_method === 'string' ? body.payment_method : 'pm_card_visa';
      ctx.withRequest(null, () => {
        try {
          payInvoice(ctx, invoice, { payment_method: pm, off_session: false });
        } catch {
          // The page shows the outcome (the invoice stays open).
        }
      });
      return redirectReply(`/_emulator/invoice/${invoice.id}`);
    });

    app.control('GET', '/_emulator/invoice/:id/pdf', (ctx, _body, path) => {
      const invoice = ctx.store.of(Invoices).get(path.id!);
      if (!invoice || invoice.status === 'draft')
        return htmlReply('<!doctype html><p>No such invoice.</p>', 404);
      const lines = invoiceLines(ctx, invoice.id).map(
        (l) => `${l.description ?? ''}    ${formatMoney(l.amount, l.currency)}`,
      );
      const pdf = invoicePdf(`Invoice ${invoice.number ?? invoice.id}`, [
        ...lines,
        '',
        `Total: ${formatMoney(invoice.total, invoice.currency)}`,
        `Amount due: ${formatMoney(invoice.amount_due, invoice.currency)}`,
        `Status: ${invoice.status}`,
      ]);
      return new ControlReply(200, { 'Content-Type': 'application/pdf' }, pdf);
    });
  },
};
