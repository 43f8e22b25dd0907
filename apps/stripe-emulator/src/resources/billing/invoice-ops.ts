/**
 * The invoice state machine, usable from routes and from the subscription engine:
 *
 *   draft --finalize--> open --paid / void / mark_uncollectible--> paid | void | uncollectible
 *
 * Finalizing assigns the number (`<customer invoice_prefix>-0001`), applies the customer
 * balance and creates the PaymentIntent that collects the invoice (owner = the invoice) with
 * its `invoice_payment` record. Payment outcomes — synchronous or later (3-D Secure completed
 * by the customer, a client-side confirmation) — are handled when the PaymentIntent's own
 * event has been emitted (`eventEmitted`), so invoice events always follow the payment events
 * that caused them. Failed automatic attempts start dunning: retries on
 * `ctx.settings.retrySchedule.days` (counted from the first failure), none after a hard
 * decline or without a payment method, then the end action (hook `invoiceRetriesExhausted`).
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { diff, type EventRow, emitEvent, nowFor, testClockOf } from '../../core/events.ts';
import { defineHook, runHook } from '../../core/hooks.ts';
import { randomAlphanumeric } from '../../core/ids.ts';
import { defineJob, scheduleJob } from '../../core/scheduler.ts';
import { invalidRequest, StripeApiError } from '../../http/errors.ts';
import type { PriceRow } from '../catalog/tables.ts';
import { Customers } from '../customers/tables.ts';
import { isMagicPaymentMethodId } from '../payments/cards.ts';
import { paymentNeedsAuthentication } from '../payments/intent-common.ts';
import { cancelPaymentIntent } from '../payments/payment-intent-capture.ts';
import { confirmPaymentIntent, createPaymentIntent } from '../payments/payment-intent-ops.ts';
import { attachPaymentMethod, behaviourOf, resolvePaymentMethod } from '../payments/payment-method-ops.ts';
import { PaymentIntents, PaymentMethods } from '../payments/tables.ts';
import { applyDiscounts, recordDiscountUse } from './discounts.ts';
import { productName } from './invoice-item-ops.ts';
import {
  type InvoiceItemRow,
  InvoiceItems,
  type InvoiceMeta,
  InvoicePayments,
  type InvoiceRow,
  Invoices,
  type LineRow,
  type SubscriptionRow,
  Subscriptions,
} from './tables.ts';

// ---------------------------------------------------------------------------------------------
// Hooks (the subscription engine listens)

export const invoicePaid = defineHook<{ invoice: InvoiceRow }>('billing.invoice_paid');
export const invoicePaymentFailed = defineHook<{
  invoice: InvoiceRow;
  automatic: boolean;
  actionRequired: boolean;
}>('billing.invoice_payment_failed');
/** Dunning is over: the last retry failed (or none was possible). */
export const invoiceRetriesExhausted = defineHook<{ invoice: InvoiceRow }>(
  'billing.invoice_retries_exhausted',
);
/** A send_invoice invoice passed its due date unpaid. */
export const invoiceOverdue = defineHook<{ invoice: InvoiceRow }>('billing.invoice_overdue');
export const invoiceVoided = defineHook<{ invoice: InvoiceRow }>('billing.invoice_voided');

// ---------------------------------------------------------------------------------------------
// Composition

export interface LineDraft {
  amount: number;
  description: string;
  discountable: boolean;
  period: { start: number; end: number };
  price: PriceRow | null;
  quantity: number | null;
  proration: boolean;
  subscription: string | null;
  subscriptionItem?: string | null;
  invoiceItem?: string | null;
  metadata?: Stripe.Metadata;
  unitAmountDecimal?: string | null;
}

export interface InvoiceInput {
  customer: Stripe.Customer;
  currency: string;
  subscription: SubscriptionRow | null;
  billingReason: Stripe.Invoice.BillingReason;
  collectionMethod: Stripe.Invoice.CollectionMethod;
  daysUntilDue?: number | null;
  dueDate?: number | null;
  autoAdvance: boolean;
  description?: string | null;
  metadata?: Stripe.Metadata;
  customFields?: Stripe.Invoice.CustomField[] | null;
  footer?: string | null;
  defaultPaymentMethod?: string | null;
  /** Discount ids applying to the whole invoice. */
  discounts: string[];
  lines: LineDraft[];
  /** Pending invoice items this invoice takes in (after `lines`). */
  items: InvoiceItemRow[];
  periodStart: number;
  periodEnd: number;
  created: number;
  /** Preview only: the proration date the preview used. */
  prorationDate?: number;
  /** Preview only: lines after the items (prorations that would be pending items). */
  trailingLines?: LineDraft[];
  /** Preview only: discounts not stored (id -> coupon). */
  virtualDiscounts?: Record<string, string>;
}

export function lineFromItem(ctx: Emulator, item: InvoiceItemRow): LineDraft {
  const price = item.pricing?.price_details
    ? ((ctx.store.findById(item.pricing.price_details.price)?.row as PriceRow | undefined) ?? null)
    : null;
  return {
    amount: item.amount,
    description: item.description ?? (price ? productName(ctx, price) : ''),
    discountable: item.discountable,
    period: item.period,
    price,
    quantity: item.quantity,
    proration: item.proration,
    subscription: item.parent?.subscription_details?.subscription ?? null,
    subscriptionItem: item.parent?.subscription_details?.subscription_item ?? null,
    invoiceItem: item.id,
    metadata: item.metadata ?? {},
    unitAmountDecimal: item.pricing?.unit_amount_decimal ?? null,
  };
}

function renderLine(draft: LineDraft, invoiceId: string, currency: string, preview: boolean): LineRow {
  const prorationDetails = { credited_items: null };
  return {
    id: preview ? `il_tmp_${randomAlphanumeric(24)}` : `il_${randomAlphanumeric(24)}`,
    object: 'line_item',
    amount: draft.amount,
    currency,
    description: draft.description,
    discount_amounts: [],
    discountable: draft.discountable,
    discounts: [],
    invoice: invoiceId,
    livemode: false,
    metadata: draft.metadata ?? {},
    parent: draft.invoiceItem
      ? {
          type: 'invoice_item_details',
          invoice_item_details: {
            invoice_item: draft.invoiceItem,
            proration: draft.proration,
            proration_details: prorationDetails,
            subscription: draft.subscription,
          },
          subscription_item_details: null,
        }
      : {
          type: 'subscription_item_details',
          invoice_item_details: null,
          subscription_item_details: {
            invoice_item: null,
            proration: draft.proration,
            proration_details: prorationDetails,
            subscription: draft.subscription,
            subscription_item: draft.subscriptionItem ?? '',
          },
        },
    period: draft.period,
    pretax_credit_amounts: [],
    pricing: draft.price
      ? {
          type: 'price_details',
          price_details: { price: draft.price.id, product: draft.price.product as string },
          unit_amount_decimal: draft.price.unit_amount_decimal,
        }
      : draft.unitAmountDecimal
        ? { type: 'price_details', unit_amount_decimal: draft.unitAmountDecimal }
        : null,
    quantity: draft.quantity,
    quantity_decimal: draft.quantity === null ? null : String(draft.quantity),
    subscription: draft.subscription,
    subtotal: draft.amount,
    taxes: [],
  };
}

/** amount_due and the balance movement for a total, given the customer's balance. */
export function balanceApplication(total: number, balance: number): { amountDue: number; ending: number } {
  let amountDue: number;
  if (total <= 0) amountDue = 0;
  else if (balance < 0) amountDue = Math.max(0, total + balance);
  else amountDue = total + balance;
  return { amountDue, ending: balance + total - amountDue };
}

const LINES_EMBEDDED = 10;

/** Lines, discounts and totals of an invoice (the parts that change while it is a draft). */
function withTotals(
  ctx: Emulator,
  row: InvoiceRow,
  lines: LineRow[],
  balance: number,
  virtual: Record<string, string> = {},
): { row: InvoiceRow; lines: LineRow[] } {
  const { lines: discounted, totals } = applyDiscounts(
    ctx,
    lines,
    row.discounts.map((d) => (typeof d === 'string' ? d : d.id)),
    row.currency,
    virtual,
  );
  const subtotal = discounted.reduce((sum, l) => sum + l.amount, 0);
  const discountTotal = totals.reduce((sum, d) => sum + d.amount, 0);
  const total = subtotal - discountTotal;
  const { amountDue } = balanceApplication(total, balance);
  return {
    lines: discounted,
    row: {
      ...row,
      lines: {
        object: 'list',
        data: discounted.slice(0, LINES_EMBEDDED),
        has_more: discounted.length > LINES_EMBEDDED,
        url: `/v1/invoices/${row.id}/lines`,
      },
      subtotal,
      subtotal_excluding_tax: subtotal,
      total,
      total_excluding_tax: total,
      total_discount_amounts: totals,
      total_pretax_credit_amounts: totals.map((d) => ({ ...d, type: 'discount' as const })),
      starting_balance: balance,
      amount_due: amountDue,
      amount_remaining: amountDue - row.amount_paid,
    },
  };
}

/** Build an invoice without storing it (create and preview share this). */
export function composeInvoice(
  ctx: Emulator,
  input: InvoiceInput,
  id: string,
  opts: { preview?: boolean } = {},
): { row: InvoiceRow; meta: InvoiceMeta } {
  const { customer, subscription } = input;
  const drafts = [
    ...input.lines,
    ...input.items.map((item) => lineFromItem(ctx, item)),
    ...(input.trailingLines ?? []),
  ];
  const lines = drafts.map((d) => renderLine(d, id, input.currency, !!opts.preview));
  const autoFinalizeAt = input.autoAdvance ? input.created + 3600 : null;
  const base: InvoiceRow = {
    id,
    object: 'invoice',
    account_country: 'US',
    account_name: 'Tollgate (Stripe emulator)',
    account_tax_ids: null,
    amount_due: 0,
    amount_overpaid: 0,
    amount_paid: 0,
    amount_remaining: 0,
    amount_shipping: 0,
    application: null,
    attempt_count: 0,
    attempted: false,
    auto_advance: input.autoAdvance,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: opts.preview ? null : autoFinalizeAt,
    billing_reason: input.billingReason,
    collection_method: input.collectionMethod,
    created: input.created,
    currency: input.currency,
    custom_fields: input.customFields ?? customer.invoice_settings.custom_fields ?? null,
    customer: customer.id,
    customer_account: null,
    customer_address: customer.address ?? null,
    customer_email: customer.email,
    customer_name: customer.name ?? null,
    customer_phone: customer.phone ?? null,
    customer_shipping: customer.shipping,
    customer_tax_exempt: customer.tax_exempt ?? 'none',
    customer_tax_ids: [],
    default_payment_method: input.defaultPaymentMethod ?? null,
    default_source: null,
    default_tax_rates: [],
    description: input.description ?? null,
    discounts: input.discounts,
    due_date:
      input.collectionMethod === 'send_invoice'
        ? (input.dueDate ??
          (input.daysUntilDue !== null && input.daysUntilDue !== undefined
            ? input.created + input.daysUntilDue * 86_400
            : null))
        : null,
    effective_at: null,
    ending_balance: null,
    footer: input.footer ?? customer.invoice_settings.footer ?? null,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: 'self' },
    last_finalization_error: null,
    latest_revision: null,
    lines: { object: 'list', data: [], has_more: false, url: `/v1/invoices/${id}/lines` },
    livemode: false,
    metadata: input.metadata ?? {},
    next_payment_attempt:
      !opts.preview && input.collectionMethod === 'charge_automatically' ? autoFinalizeAt : null,
    number: null,
    on_behalf_of: null,
    parent: subscription
      ? {
          type: 'subscription_details',
          quote_details: null,
          subscription_details: {
            metadata: subscription.metadata,
            subscription: subscription.id,
            ...(input.prorationDate !== undefined
              ? { subscription_proration_date: input.prorationDate }
              : {}),
          },
        }
      : null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: input.periodEnd,
    period_start: input.periodStart,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: customer.balance,
    statement_descriptor: null,
    status: 'draft',
    status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    subtotal: 0,
    subtotal_excluding_tax: 0,
    test_clock: customer.test_clock ?? null,
    total: 0,
    total_discount_amounts: [],
    total_excluding_tax: 0,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: opts.preview ? null : input.created,
  };
  const computed = withTotals(ctx, base, lines, customer.balance, input.virtualDiscounts);
  return { row: computed.row, meta: { lines: computed.lines } };
}

/** Store a new draft invoice, take in its pending items, emit invoice.created. */
export function createInvoice(ctx: Emulator, input: InvoiceInput, id?: string): InvoiceRow {
  const table = ctx.store.of(Invoices);
  const invoiceId = id ?? table.newId();
  const { row, meta } = composeInvoice(ctx, input, invoiceId);
  table.insert(row, meta);
  const items = ctx.store.of(InvoiceItems);
  for (const item of input.items) items.update(item.id, { invoice: invoiceId });
  recordDiscountUse(
    ctx,
    row.discounts.map((d) => (typeof d === 'string' ? d : d.id)),
    invoiceId,
  );
  emitEvent(ctx, 'invoice.created', row);
  if (row.auto_advance && row.automatically_finalizes_at !== null) {
    scheduleJob(ctx, autoFinalizeJob, {
      clock: testClockOf(ctx, row),
      at: row.automatically_finalizes_at,
      payload: { invoice: invoiceId },
      key: `invoice-finalize:${invoiceId}`,
    });
  }
  return row;
}

/** Re-read the invoice's items and recompute a draft (after lines or discounts changed). */
export function refreshDraft(
  ctx: Emulator,
  invoice: InvoiceRow,
  patch: Partial<InvoiceRow> = {},
): InvoiceRow {
  const table = ctx.store.of(Invoices);
  const meta = table.meta(invoice.id) ?? { lines: [] };
  const customer = ctx.store.of(Customers).require(invoice.customer as string);
  const items = ctx.store.of(InvoiceItems).sorted((ii) => ii.invoice === invoice.id);
  const byItem = new Map(meta.lines.map((l) => [l.parent?.invoice_item_details?.invoice_item, l]));
  // Keep subscription lines; rebuild item lines from the current items (added, changed, removed).
  const kept = meta.lines.filter((l) => l.parent?.type !== 'invoice_item_details');
  const itemLines = items.reverse().map((item) => {
    const line = renderLine(lineFromItem(ctx, item), invoice.id, invoice.currency, false);
    const old = byItem.get(item.id);
    return old ? { ...line, id: old.id } : line;
  });
  const next = { ...invoice, ...patch };
  const computed = withTotals(ctx, next, [...kept, ...itemLines], customer.balance);
  table.setMeta(invoice.id, { ...meta, lines: computed.lines });
  return table.replace(computed.row);
}

export function invoiceLines(ctx: Emulator, invoiceId: string): LineRow[] {
  return ctx.store.of(Invoices).meta(invoiceId)?.lines ?? [];
}

// ---------------------------------------------------------------------------------------------
// Finalization

export function hostedUrls(ctx: Emulator, id: string): { hosted: string; pdf: string } {
  return {
    hosted: `${ctx.baseUrl}/_emulator/invoice/${id}`,
    pdf: `${ctx.baseUrl}/_emulator/invoice/${id}/pdf`,
  };
}

function paymentIntentDescription(invoice: InvoiceRow): string {
  switch (invoice.billing_reason) {
    case 'subscription_create':
      return 'Subscription creation';
    case 'subscription_update':
      return 'Subscription update';
    case 'subscription_cycle':
      return 'Subscription cycle';
    default:
      return `Invoice ${invoice.number}`;
  }
}

export function finalizeInvoice(
  ctx: Emulator,
  invoice: InvoiceRow,
  opts: { autoAdvance?: boolean } = {},
): InvoiceRow {
  if (invoice.status !== 'draft') {
    throw invalidRequest(
      "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
      undefined,
      'invoice_not_editable',
    );
  }
  const table = ctx.store.of(Invoices);
  const customers = ctx.store.of(Customers);
  const customer = customers.require(invoice.customer as string);
  const now = nowFor(ctx, invoice);
  ctx.scheduler.cancel(`invoice-finalize:${invoice.id}`);
  // Totals with the balance as it is now (it may have moved since the draft was made).
  const current = refreshDraft(ctx, invoice);
  const { amountDue, ending } = balanceApplication(current.total, customer.balance);
  const sequence = customer.next_invoice_sequence ?? 1;
  customers.replace({ ...customers.require(customer.id), next_invoice_sequence: sequence + 1 });
  const urls = hostedUrls(ctx, invoice.id);
  const autoAdvance = opts.autoAdvance ?? current.auto_advance ?? false;
  const finalized = table.replace({
    ...current,
    status: 'open',
    number: `${customer.invoice_prefix ?? 'INV'}-${String(sequence).padStart(4, '0')}`,
    hosted_invoice_url: urls.hosted,
    invoice_pdf: urls.pdf,
    effective_at: now,
    automatically_finalizes_at: null,
    starting_balance: customer.balance,
    ending_balance: ending,
    amount_due: amountDue,
    amount_remaining: amountDue,
    auto_advance: amountDue > 0 ? autoAdvance : false,
    next_payment_attempt:
      current.collection_method === 'charge_automatically' && autoAdvance && amountDue > 0 ? now : null,
    status_transitions: { ...current.status_transitions, finalized_at: now },
  });
  if (ending !== customer.balance) {
    const old = customers.require(customer.id);
    const next = customers.replace({ ...old, balance: ending });
    emitEvent(ctx, 'customer.updated', next, { previousAttributes: diff(old, next) });
  }
  emitEvent(ctx, 'invoice.finalized', finalized);
  if (amountDue === 0) return markPaid(ctx, finalized, { outOfBand: false, zero: true });
  const pm = resolveInvoicePaymentMethod(ctx, finalized);
  const pi = createPaymentIntent(ctx, {
    amount: amountDue,
    currency: finalized.currency,
    customer: customer.id,
    description: paymentIntentDescription(finalized),
    payment_method: pm,
    payment_method_types: ['card'],
    owner: { object: 'invoice', id: finalized.id },
  });
  const payments = ctx.store.of(InvoicePayments);
  const payment = payments.insert({
    id: payments.newId(),
    object: 'invoice_payment',
    amount_paid: null,
    amount_requested: amountDue,
    created: now,
    currency: finalized.currency,
    invoice: finalized.id,
    is_default: true,
    livemode: false,
    payment: { type: 'payment_intent', payment_intent: pi.id },
    status: 'open',
    status_transitions: { canceled_at: null, paid_at: null },
  });
  table.setMeta(finalized.id, {
    ...table.meta(finalized.id)!,
    paymentIntent: pi.id,
    invoicePayment: payment.id,
  });
  return table.require(finalized.id);
}

// ---------------------------------------------------------------------------------------------
// Payment

/** invoice default_payment_method → subscription's → customer's invoice_settings default. */
export function resolveInvoicePaymentMethod(ctx: Emulator, invoice: InvoiceRow): string | null {
  if (typeof invoice.default_payment_method === 'string') return invoice.default_payment_method;
  const subId = invoice.parent?.subscription_details?.subscription;
  const sub = typeof subId === 'string' ? ctx.store.of(Subscriptions).get(subId) : undefined;
  if (sub && typeof sub.default_payment_method === 'string') return sub.default_payment_method;
  const customer = ctx.store.of(Customers).get(invoice.customer as string);
  const pm = customer?.invoice_settings.default_payment_method;
  return typeof pm === 'string' ? pm : null;
}

export const NO_PAYMENT_METHOD_MESSAGE =
  'This customer has no attached payment source or default payment method. Please consider adding a default payment method. For more information, visit https://stripe.com/docs/billing/subscriptions/payment-methods-setting#payment-method-priority.';

/**
 * A PaymentMethod id given in a request for this customer, checked without side effects:
 * it must be attached to the customer, or be a magic test id (`pm_card_visa`), which becomes
 * a stored PaymentMethod that `usePaymentMethod` attaches once the request is valid.
 */
export function checkPaymentMethodParam(ctx: Emulator, id: string, customer: string, param: string): string {
  const pm = resolvePaymentMethod(ctx, id, param);
  if (pm.customer === customer || (isMagicPaymentMethodId(id) && !pm.customer)) return pm.id;
  throw invalidRequest(
    `The customer does not have a payment method with the ID ${id}. The payment method must be attached to the customer.`,
    param,
    'resource_missing',
  );
}

/** Attach a checked PaymentMethod if it is not yet (a declining test card refuses: 402). */
export function usePaymentMethod(ctx: Emulator, pmId: string, customer: string, param: string): string {
  const pm = ctx.store.of(PaymentMethods).require(pmId, param);
  if (pm.customer === customer) return pm.id;
  return attachPaymentMethod(ctx, pm.id, customer, param).id;
}

export function paymentMethodForCustomer(ctx: Emulator, id: string, customer: string, param: string): string {
  return usePaymentMethod(ctx, checkPaymentMethodParam(ctx, id, customer, param), customer, param);
}

/** What confirming this PaymentMethod for an invoice would do (for error_if_incomplete checks). */
export function predictPayment(
  ctx: Emulator,
  pmId: string | null,
  offSession = true,
): 'succeed' | 'fail' | 'action' | 'none' {
  if (!pmId) return 'none';
  const behaviour = behaviourOf(ctx, pmId);
  if (behaviour.kind === 'decline' || behaviour.kind === 'charge_fails' || behaviour.kind === 'radar_block') {
    return 'fail';
  }
  const setUp = !!ctx.store.of(PaymentMethods).meta(pmId)?.offSessionReady;
  return paymentNeedsAuthentication(behaviour, { offSession, setUpForOffSession: setUp })
    ? 'action'
    : 'succeed';
}

/** The 402 Stripe answers when a payment would fail (error_if_incomplete). */
export function predictedFailure(ctx: Emulator, pmId: string): StripeApiError {
  const behaviour = behaviourOf(ctx, pmId);
  const code =
    behaviour.kind === 'decline'
      ? behaviour.code
      : behaviour.kind === 'radar_block'
        ? 'fraudulent'
        : behaviour.kind === 'charge_fails'
          ? 'generic_decline'
          : null;
  if (code === null) return requiresActionError();
  const details = {
    generic_decline: ['card_declined', 'Your card was declined.'],
    insufficient_funds: ['card_declined', 'Your card has insufficient funds.'],
    lost_card: ['card_declined', 'Your card was declined.'],
    stolen_card: ['card_declined', 'Your card was declined.'],
    fraudulent: ['card_declined', 'Your card was declined.'],
    expired_card: ['expired_card', 'Your card has expired.'],
    incorrect_cvc: ['incorrect_cvc', "Your card's security code is incorrect."],
    processing_error: [
      'processing_error',
      'An error occurred while processing your card. Try again in a little bit.',
    ],
  }[code]!;
  return new StripeApiError({
    status: 402,
    type: 'card_error',
    code: details[0]!,
    decline_code: code,
    message: details[1]!,
  });
}

export function requiresActionError(extra?: Record<string, unknown>): StripeApiError {
  return new StripeApiError({
    status: 402,
    type: 'card_error',
    code: 'invoice_payment_intent_requires_action',
    message:
      'This payment requires additional user action before it can be completed successfully. Payment can be completed using the PaymentIntent associated with the invoice. For more details see: https://stripe.com/docs/billing/subscriptions/overview#requires-action',
    extra,
  });
}

interface Attempt {
  invoice: string;
  automatic: boolean;
}
const attempts = new WeakMap<Emulator, Attempt[]>();

function currentAttempt(ctx: Emulator, invoice: string): Attempt | undefined {
  const stack = attempts.get(ctx) ?? [];
  for (let i = stack.length - 1; i >= 0; i--) if (stack[i]!.invoice === invoice) return stack[i];
  return undefined;
}

export interface AttemptResult {
  invoice: InvoiceRow;
  outcome: 'paid' | 'failed' | 'requires_action' | 'no_payment_method';
  failure?: StripeApiError;
}

/**
 * Try to collect an open invoice now with `paymentMethod` (or its default chain). Invoices
 * put a payment needing 3-D Secure into `requires_action` even off-session (the customer then
 * authenticates from the hosted page / email), like Stripe Billing.
 */
export function attemptPayment(
  ctx: Emulator,
  invoice: InvoiceRow,
  opts: { paymentMethod?: string | null; offSession?: boolean; automatic: boolean },
): AttemptResult {
  const table = ctx.store.of(Invoices);
  const pmId = opts.paymentMethod ?? resolveInvoicePaymentMethod(ctx, invoice);
  if (!pmId) {
    recordFailure(ctx, invoice, { automatic: opts.automatic, actionRequired: false, noRetry: true });
    return { invoice: table.require(invoice.id), outcome: 'no_payment_method' };
  }
  const pis = ctx.store.of(PaymentIntents);
  let piId = table.meta(invoice.id)?.paymentIntent;
  let pi = piId ? pis.get(piId) : undefined;
  if (!pi || !['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(pi.status)) {
    pi = createPaymentIntent(ctx, {
      amount: invoice.amount_remaining,
      currency: invoice.currency,
      customer: invoice.customer as string,
      description: paymentIntentDescription(invoice),
      payment_method: pmId,
      payment_method_types: ['card'],
      owner: { object: 'invoice', id: invoice.id },
    });
    piId = pi.id;
    table.setMeta(invoice.id, { ...table.meta(invoice.id)!, paymentIntent: pi.id });
  }
  const behaviour = behaviourOf(ctx, pmId);
  const setUp = !!ctx.store.of(PaymentMethods).meta(pmId)?.offSessionReady;
  const needsAuth = paymentNeedsAuthentication(behaviour, {
    offSession: opts.offSession ?? true,
    setUpForOffSession: setUp,
  });
  const stack = attempts.get(ctx) ?? [];
  attempts.set(ctx, stack);
  stack.push({ invoice: invoice.id, automatic: opts.automatic });
  let result: ReturnType<typeof confirmPaymentIntent>;
  try {
    result = confirmPaymentIntent(ctx, pi, {
      payment_method: pmId,
      off_session: needsAuth ? false : (opts.offSession ?? true),
    });
  } finally {
    stack.pop();
  }
  const after = table.require(invoice.id);
  if (result.intent.status === 'succeeded') return { invoice: after, outcome: 'paid' };
  if (result.intent.status === 'requires_action') {
    return {
      invoice: after,
      outcome: 'requires_action',
      failure: requiresActionError({ payment_intent: result.intent }),
    };
  }
  return { invoice: after, outcome: 'failed', failure: result.failure };
}

/** Mark paid: by the invoice's PaymentIntent, out of band, or because nothing is due. */
export function markPaid(
  ctx: Emulator,
  invoice: InvoiceRow,
  opts: { outOfBand: boolean; zero?: boolean; amount?: number },
): InvoiceRow {
  const table = ctx.store.of(Invoices);
  const now = nowFor(ctx, invoice);
  const amount = opts.amount ?? invoice.amount_remaining;
  const paid = table.replace({
    ...invoice,
    status: 'paid',
    amount_paid: invoice.amount_paid + amount,
    amount_remaining: 0,
    ...(opts.outOfBand ? { amount_paid_off_stripe: amount } : {}),
    attempted: true,
    attempt_count: opts.zero || opts.outOfBand ? invoice.attempt_count : Math.max(1, invoice.attempt_count),
    auto_advance: false,
    next_payment_attempt: null,
    status_transitions: { ...invoice.status_transitions, paid_at: now },
  });
  ctx.scheduler.cancelWhere((job) => (job.payload as { invoice?: string } | null)?.invoice === invoice.id);
  emitEvent(ctx, 'invoice.paid', paid);
  if (!opts.outOfBand) emitEvent(ctx, 'invoice.payment_succeeded', paid);
  const meta = table.meta(invoice.id);
  if (!opts.outOfBand && !opts.zero && meta?.invoicePayment) {
    const payments = ctx.store.of(InvoicePayments);
    const payment = payments.update(meta.invoicePayment, {
      status: 'paid',
      amount_paid: amount,
      status_transitions: { canceled_at: null, paid_at: now },
    });
    emitEvent(ctx, 'invoice_payment.paid', payment, { clock: testClockOf(ctx, invoice) });
  }
  runHook(ctx, invoicePaid, { invoice: paid });
  return paid;
}

const HARD_DECLINES = new Set([
  'fraudulent',
  'lost_card',
  'stolen_card',
  'pickup_card',
  'incorrect_number',
  'invalid_account',
  'restricted_card',
  'expired_card',
  'security_violation',
  'stop_payment_order',
  'revocation_of_authorization',
  'revocation_of_all_authorizations',
  'transaction_not_allowed',
  'card_not_supported',
  'currency_not_supported',
  'new_account_information_available',
]);

/**
 * Subscription renewal / update and auto-advancing one-off invoices are retried; the first
 * invoice of a subscription created through the API is not (the subscription expires instead).
 */
function dunningApplies(ctx: Emulator, invoice: InvoiceRow): boolean {
  if (invoice.collection_method !== 'charge_automatically') return false;
  const subId = invoice.parent?.subscription_details?.subscription;
  const firstInvoice =
    typeof subId === 'string' ? ctx.store.of(Subscriptions).meta(subId)?.firstInvoice : undefined;
  return firstInvoice !== invoice.id;
}

function recordFailure(
  ctx: Emulator,
  invoice: InvoiceRow,
  opts: { automatic: boolean; actionRequired: boolean; noRetry: boolean },
): void {
  const table = ctx.store.of(Invoices);
  const now = nowFor(ctx, invoice);
  const meta = table.meta(invoice.id) ?? { lines: [] };
  const days = ctx.settings.retrySchedule.days;
  let next: number | null = invoice.next_payment_attempt;
  let nextMeta: InvoiceMeta = meta;
  let exhausted = false;
  if (opts.automatic && dunningApplies(ctx, invoice)) {
    const first = meta.firstFailureAt ?? now;
    const retriesDone = meta.firstFailureAt === undefined ? 0 : (meta.retriesDone ?? 0) + 1;
    nextMeta = { ...meta, firstFailureAt: first, retriesDone, noRetry: opts.noRetry };
    if (opts.noRetry) {
      next = null;
      // No retry can succeed; the end action still waits for the end of the retry window.
      const endAt = first + (days.length ? days[days.length - 1]! : 0) * 86_400;
      if (endAt <= now) exhausted = true;
      else
        scheduleJob(ctx, dunningEndJob, {
          clock: testClockOf(ctx, invoice),
          at: endAt,
          payload: { invoice: invoice.id },
          key: `invoice-dunning-end:${invoice.id}`,
        });
    } else if (retriesDone < days.length) {
      next = first + days[retriesDone]! * 86_400;
      scheduleJob(ctx, retryJob, {
        clock: testClockOf(ctx, invoice),
        at: next,
        payload: { invoice: invoice.id, retry: retriesDone + 1 },
        key: `invoice-retry:${invoice.id}`,
      });
    } else {
      next = null;
      exhausted = true;
    }
  } else if (!opts.automatic && invoice.attempt_count === 0) {
    next = null;
  }
  const updated = table.replace({
    ...invoice,
    attempted: true,
    attempt_count: opts.automatic ? invoice.attempt_count + 1 : Math.max(1, invoice.attempt_count),
    next_payment_attempt: next,
  });
  table.setMeta(invoice.id, nextMeta);
  emitEvent(ctx, opts.actionRequired ? 'invoice.payment_action_required' : 'invoice.payment_failed', updated);
  const previous = diff(invoice, updated);
  if (Object.keys(previous).length > 0)
    emitEvent(ctx, 'invoice.updated', updated, { previousAttributes: previous });
  runHook(ctx, invoicePaymentFailed, {
    invoice: updated,
    automatic: opts.automatic,
    actionRequired: opts.actionRequired,
  });
  if (exhausted) endDunning(ctx, updated);
}

function endDunning(ctx: Emulator, invoice: InvoiceRow): void {
  const table = ctx.store.of(Invoices);
  const meta = table.meta(invoice.id);
  if (!meta || meta.dunningEnded || invoice.status !== 'open') return;
  table.setMeta(invoice.id, { ...meta, dunningEnded: true });
  let current = invoice;
  if (current.next_payment_attempt !== null) {
    current = table.replace({ ...current, next_payment_attempt: null });
    emitEvent(ctx, 'invoice.updated', current, {
      previousAttributes: { next_payment_attempt: invoice.next_payment_attempt },
    });
  }
  runHook(ctx, invoiceRetriesExhausted, { invoice: current });
  const after = table.require(invoice.id);
  if (ctx.settings.retrySchedule.markUncollectible && after.status === 'open') markUncollectible(ctx, after);
}

function isHardDecline(pi: Stripe.PaymentIntent): boolean {
  const error = pi.last_payment_error;
  return !!error?.decline_code && HARD_DECLINES.has(error.decline_code);
}

/** The invoice's PaymentIntent emitted an outcome event (after its charge events). */
function onPaymentEvent(ctx: Emulator, event: EventRow): void {
  if (!event.type.startsWith('payment_intent.')) return;
  const pi = event.data.object as unknown as Stripe.PaymentIntent;
  const owner = ctx.store.of(PaymentIntents).meta(pi.id)?.owner;
  if (owner?.object !== 'invoice') return;
  const invoice = ctx.store.of(Invoices).get(owner.id);
  if (!invoice) return;
  const attempt = currentAttempt(ctx, invoice.id);
  switch (event.type) {
    case 'payment_intent.succeeded':
      if (invoice.status === 'open' || invoice.status === 'uncollectible') {
        markPaid(ctx, invoice, { outOfBand: false, amount: pi.amount_received });
      }
      return;
    case 'payment_intent.payment_failed':
      if (invoice.status !== 'open') return;
      recordFailure(ctx, invoice, {
        automatic: attempt?.automatic ?? false,
        actionRequired: false,
        noRetry: isHardDecline(pi),
      });
      return;
    case 'payment_intent.requires_action':
      if (invoice.status !== 'open') return;
      recordFailure(ctx, invoice, {
        automatic: attempt?.automatic ?? false,
        actionRequired: true,
        noRetry: false,
      });
      return;
    case 'payment_intent.canceled': {
      const paymentId = ctx.store.of(Invoices).meta(invoice.id)?.invoicePayment;
      if (paymentId) {
        ctx.store.of(InvoicePayments).update(paymentId, {
          status: 'canceled',
          status_transitions: { canceled_at: nowFor(ctx, invoice), paid_at: null },
        });
      }
      return;
    }
  }
}

export { onPaymentEvent };

// ---------------------------------------------------------------------------------------------
// Other transitions

export function markUncollectible(ctx: Emulator, invoice: InvoiceRow): InvoiceRow {
  if (invoice.status !== 'open') {
    throw invalidRequest(
      `You can only mark an open invoice as uncollectible; this invoice is ${invoice.status}.`,
      undefined,
      'invoice_not_editable',
    );
  }
  const table = ctx.store.of(Invoices);
  const now = nowFor(ctx, invoice);
  const next = table.replace({
    ...invoice,
    status: 'uncollectible',
    auto_advance: false,
    next_payment_attempt: null,
    status_transitions: { ...invoice.status_transitions, marked_uncollectible_at: now },
  });
  ctx.scheduler.cancel(`invoice-retry:${invoice.id}`);
  emitEvent(ctx, 'invoice.marked_uncollectible', next);
  return next;
}

export function voidInvoice(ctx: Emulator, invoice: InvoiceRow): InvoiceRow {
  if (invoice.status !== 'open' && invoice.status !== 'uncollectible') {
    throw invalidRequest(
      invoice.status === 'draft'
        ? 'You can only void a finalized invoice. Delete draft invoices instead.'
        : `You cannot void an invoice that is ${invoice.status}.`,
      undefined,
      'invoice_not_editable',
    );
  }
  const table = ctx.store.of(Invoices);
  const now = nowFor(ctx, invoice);
  const next = table.replace({
    ...invoice,
    status: 'void',
    auto_advance: false,
    next_payment_attempt: null,
    status_transitions: { ...invoice.status_transitions, voided_at: now },
  });
  ctx.scheduler.cancelWhere((job) => (job.payload as { invoice?: string } | null)?.invoice === invoice.id);
  // The balance the invoice consumed (or credited) goes back to the customer.
  const moved = (invoice.ending_balance ?? invoice.starting_balance) - invoice.starting_balance;
  if (moved !== 0) {
    const customers = ctx.store.of(Customers);
    const old = customers.get(invoice.customer as string);
    if (old) {
      const updated = customers.replace({ ...old, balance: old.balance - moved });
      emitEvent(ctx, 'customer.updated', updated, { previousAttributes: diff(old, updated) });
    }
  }
  cancelInvoicePaymentIntent(ctx, invoice.id);
  emitEvent(ctx, 'invoice.voided', next);
  runHook(ctx, invoiceVoided, { invoice: next });
  return next;
}

/** A voided invoice's PaymentIntent can no longer be paid. */
function cancelInvoicePaymentIntent(ctx: Emulator, invoiceId: string): void {
  const meta = ctx.store.of(Invoices).meta(invoiceId);
  const piId = meta?.paymentIntent;
  const pis = ctx.store.of(PaymentIntents);
  const pi = piId ? pis.get(piId) : undefined;
  if (!pi || !['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(pi.status))
    return;
  cancelPaymentIntent(ctx, pi, 'void_invoice');
}

export function sendInvoice(ctx: Emulator, invoice: InvoiceRow): InvoiceRow {
  let current = invoice;
  if (current.status === 'draft') current = finalizeInvoice(ctx, current);
  if (current.collection_method !== 'send_invoice') {
    throw invalidRequest(
      "You can only manually send an invoice if its collection method is 'send_invoice'.",
      undefined,
      'invoice_not_editable',
    );
  }
  if (current.status !== 'open') {
    throw invalidRequest(`You can only send an open invoice; this invoice is ${current.status}.`);
  }
  emitEvent(ctx, 'invoice.sent', current);
  return current;
}

/** After finalization: charge it, or send it and wait for the due date. */
export function collectInvoice(ctx: Emulator, invoice: InvoiceRow): void {
  if (invoice.status !== 'open') return;
  if (invoice.collection_method === 'send_invoice') {
    emitEvent(ctx, 'invoice.sent', invoice);
    if (invoice.due_date !== null) {
      scheduleJob(ctx, dueJob, {
        clock: testClockOf(ctx, invoice),
        at: invoice.due_date,
        payload: { invoice: invoice.id },
        key: `invoice-due:${invoice.id}`,
      });
    }
    return;
  }
  if (invoice.auto_advance) attemptPayment(ctx, invoice, { automatic: true, offSession: true });
}

// ---------------------------------------------------------------------------------------------
// Jobs

export const autoFinalizeJob = defineJob<{ invoice: string }>('billing.invoice_auto_finalize', (ctx, p) => {
  const invoice = ctx.store.of(Invoices).get(p.invoice);
  if (invoice?.status !== 'draft' || !invoice.auto_advance) return;
  const finalized = finalizeInvoice(ctx, invoice);
  collectInvoice(ctx, finalized);
});

export const retryJob = defineJob<{ invoice: string; retry: number }>('billing.invoice_retry', (ctx, p) => {
  const table = ctx.store.of(Invoices);
  const invoice = table.get(p.invoice);
  if (invoice?.status !== 'open') return;
  const meta = table.meta(invoice.id);
  if ((meta?.retriesDone ?? 0) + 1 !== p.retry) return;
  attemptPayment(ctx, invoice, { automatic: true, offSession: true });
});

export const dunningEndJob = defineJob<{ invoice: string }>('billing.invoice_dunning_end', (ctx, p) => {
  const invoice = ctx.store.of(Invoices).get(p.invoice);
  if (invoice?.status !== 'open') return;
  endDunning(ctx, invoice);
});

export const dueJob = defineJob<{ invoice: string }>('billing.invoice_due', (ctx, p) => {
  const invoice = ctx.store.of(Invoices).get(p.invoice);
  if (invoice?.status !== 'open') return;
  emitEvent(ctx, 'invoice.overdue', invoice);
  runHook(ctx, invoiceOverdue, { invoice });
});
