/**
 * /v1/subscriptions (create, retrieve, update, cancel, resume, pause, list, search) and
 * /v1/subscription_items (CRUD, each change is a subscription update). Also the engine's
 * listeners: invoice outcomes move subscription statuses, customers and test clocks being
 * deleted take their subscriptions along, and test clock advances are limited to two
 * intervals of the shortest subscription on the clock.
 */
import type Stripe from 'stripe';
import type { Emulator } from '../../core/context.ts';
import { eventEmitted } from '../../core/events.ts';
import { inRange, listOf, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { searchRows } from '../../core/search.ts';
import { invalidRequest, parameterMissing } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { customerDeleting } from '../customers/customers.ts';
import { testClockAdvanceRequested, testClockDeleting } from '../platform/test-clocks.ts';
import {
  invoiceOverdue,
  invoicePaid,
  invoicePaymentFailed,
  invoiceRetriesExhausted,
  onPaymentEvent,
} from './invoice-ops.ts';
import { itemPriceDataParams, subscriptionRecurrence } from './subscription-model.ts';
import {
  cancelSubscription,
  createSubscription,
  createSubscriptionParams,
  onInvoiceOverdue,
  onInvoicePaid,
  onInvoicePaymentFailed,
  onRetriesExhausted,
  onSetupIntentEvent,
  pauseSubscription,
  resumeParams,
  resumeSubscription,
  updateSubscription,
  updateSubscriptionParams,
} from './subscription-ops.ts';
import {
  Discounts,
  InvoiceItems,
  InvoicePayments,
  Invoices,
  SubscriptionItems,
  type SubscriptionRow,
  SubscriptionSchedules,
  Subscriptions,
} from './tables.ts';
import { addIntervals, approxSeconds } from './time-money.ts';

const ENDED = new Set(['canceled', 'incomplete_expired']);

const searchFields = {
  status: (s: SubscriptionRow) => s.status,
  metadata: (s: SubscriptionRow) => s.metadata,
  created: (s: SubscriptionRow) => s.created,
};

const itemWriteParams = {
  price: p.string(),
  plan: p.string(),
  price_data: itemPriceDataParams,
  quantity: p.int({ min: 0 }),
  metadata: p.metadata(),
  proration_behavior: p.enum(['always_invoice', 'create_prorations', 'none']),
  proration_date: p.timestamp(),
  payment_behavior: p.enum([
    'allow_incomplete',
    'default_incomplete',
    'error_if_incomplete',
    'pending_if_incomplete',
  ]),
  off_session: p.bool(),
  billing_thresholds: p.any(),
  discounts: p.any(),
  tax_rates: p.any(),
  current_trial: p.any(),
};

function requireSubscription(ctx: Emulator, id: string, param = 'id'): SubscriptionRow {
  return ctx.store.of(Subscriptions).require(id, param);
}

/** Delete the billing objects living on a test clock that is being deleted. */
function deleteClockObjects(ctx: Emulator, clock: string): void {
  const subs = ctx.store.of(Subscriptions);
  const subIds = new Set<string>();
  for (const sub of subs.sorted((s) => s.test_clock === clock)) {
    subIds.add(sub.id);
    for (const item of sub.items.data) ctx.store.of(SubscriptionItems).delete(item.id);
    subs.delete(sub.id);
  }
  const invoiceIds = new Set<string>();
  for (const invoice of ctx.store.of(Invoices).sorted((i) => i.test_clock === clock)) {
    invoiceIds.add(invoice.id);
    ctx.store.of(Invoices).delete(invoice.id);
  }
  for (const item of ctx.store.of(InvoiceItems).sorted((i) => i.test_clock === clock)) {
    ctx.store.of(InvoiceItems).delete(item.id);
  }
  for (const payment of ctx.store.of(InvoicePayments).sorted((x) => invoiceIds.has(x.invoice as string))) {
    ctx.store.of(InvoicePayments).delete(payment.id);
  }
  for (const discount of ctx.store
    .of(Discounts)
    .sorted(
      (d) =>
        (d.subscription !== null && subIds.has(d.subscription)) ||
        (d.invoice !== null && invoiceIds.has(d.invoice)),
    )) {
    ctx.store.of(Discounts).delete(discount.id);
  }
  for (const schedule of ctx.store.of(SubscriptionSchedules).sorted((s) => s.test_clock === clock)) {
    ctx.store.of(SubscriptionSchedules).delete(schedule.id);
  }
}

export const subscriptionsModule: EmulatorModule = {
  name: 'subscriptions',
  register(app) {
    app.post('/v1/subscriptions', createSubscriptionParams, (req) => createSubscription(req.ctx, req.params));

    app.search('/v1/subscriptions/search', {}, (req) =>
      searchRows(req, req.ctx.store.of(Subscriptions).sorted(), searchFields, 'subscriptions'),
    );

    app.get('/v1/subscriptions/:id', {}, (req) => requireSubscription(req.ctx, req.path.id!));

    app.post('/v1/subscriptions/:id', updateSubscriptionParams, (req) =>
      updateSubscription(req.ctx, requireSubscription(req.ctx, req.path.id!), req.params),
    );

    app.del(
      '/v1/subscriptions/:id',
      {
        invoice_now: p.bool(),
        prorate: p.bool(),
        cancellation_details: p.object({
          comment: p.emptyable(p.string()),
          feedback: p.emptyable(p.string()),
          feedback_option: p.string(),
        }),
      },
      (req) => {
        const sub = requireSubscription(req.ctx, req.path.id!);
        return cancelSubscription(req.ctx, sub, {
          invoiceNow: req.params.invoice_now,
          prorate: req.params.prorate,
          reason: 'cancellation_requested',
          comment: req.params.cancellation_details?.comment ?? undefined,
          feedback:
            (req.params.cancellation_details?.feedback as Stripe.Subscription.CancellationDetails.Feedback) ??
            undefined,
        });
      },
    );

    app.post('/v1/subscriptions/:id/resume', resumeParams, (req) =>
      resumeSubscription(req.ctx, requireSubscription(req.ctx, req.path.id!), req.params),
    );

    app.post(
      '/v1/subscriptions/:id/pause',
      { bill_for: p.any(), invoicing_behavior: p.any(), type: p.enum(['subscription']) },
      (req) => {
        const sub = requireSubscription(req.ctx, req.path.id!);
        if (sub.status !== 'active' && sub.status !== 'trialing' && sub.status !== 'past_due') {
          throw invalidRequest(`A subscription with status ${sub.status} cannot be paused.`);
        }
        return pauseSubscription(req.ctx, sub, 'pause_requested');
      },
    );

    app.list(
      '/v1/subscriptions',
      {
        customer: p.string(),
        customer_account: p.string(),
        price: p.string(),
        plan: p.string(),
        status: p.enum([
          'active',
          'all',
          'canceled',
          'ended',
          'incomplete',
          'incomplete_expired',
          'past_due',
          'paused',
          'trialing',
          'unpaid',
        ]),
        collection_method: p.enum(['charge_automatically', 'send_invoice']),
        created: p.range(),
        current_period_start: p.range(),
        current_period_end: p.range(),
        test_clock: p.string(),
        automatic_tax: p.any(),
      },
      (req) => {
        const { customer, price, plan, status, collection_method, created, test_clock } = req.params;
        const table = req.ctx.store.of(Subscriptions);
        const rows = table.sorted((s) => {
          if (customer && s.customer !== customer) return false;
          // Like Stripe: test-clock subscriptions only when asking for that clock or customer.
          if (test_clock ? s.test_clock !== test_clock : !customer && s.test_clock) return false;
          if (price && !s.items.data.some((i) => i.price.id === price)) return false;
          if (plan && !s.items.data.some((i) => i.price.id === plan)) return false;
          if (collection_method && s.collection_method !== collection_method) return false;
          if (!inRange(s.created, created)) return false;
          const first = s.items.data[0];
          if (!inRange(first?.current_period_start ?? 0, req.params.current_period_start)) return false;
          if (!inRange(first?.current_period_end ?? 0, req.params.current_period_end)) return false;
          if (status === 'all') return true;
          if (status === 'ended') return ENDED.has(s.status);
          if (status) return s.status === status;
          return s.status !== 'canceled';
        });
        return paginate(req, rows, table);
      },
    );

    // Subscription items: every change goes through the subscription update.
    app.post(
      '/v1/subscription_items',
      { ...itemWriteParams, subscription: p.required(p.string()) },
      (req) => {
        const { ctx, params } = req;
        const sub = requireSubscription(ctx, params.subscription, 'subscription');
        if (!params.price && !params.plan && !params.price_data) throw parameterMissing('price');
        const priceId = params.price ?? params.plan;
        if (priceId && sub.items.data.some((i) => i.price.id === priceId)) {
          throw invalidRequest(
            `Cannot add multiple subscription items with the same price: ${priceId}`,
            params.price ? 'price' : 'plan',
          );
        }
        const before = new Set(sub.items.data.map((i) => i.id));
        const next = updateSubscription(ctx, sub, {
          items: [
            {
              price: params.price,
              plan: params.plan,
              price_data: params.price_data,
              quantity: params.quantity,
              metadata: params.metadata,
            },
          ],
          proration_behavior: params.proration_behavior,
          proration_date: params.proration_date,
          payment_behavior: params.payment_behavior,
          off_session: params.off_session,
        });
        return next.items.data.find((i) => !before.has(i.id)) ?? next.items.data[next.items.data.length - 1]!;
      },
    );

    app.get('/v1/subscription_items/:id', {}, (req) =>
      req.ctx.store.of(SubscriptionItems).require(req.path.id!),
    );

    app.post('/v1/subscription_items/:id', itemWriteParams, (req) => {
      const { ctx, params } = req;
      const item = ctx.store.of(SubscriptionItems).require(req.path.id!);
      const sub = requireSubscription(ctx, item.subscription);
      const next = updateSubscription(ctx, sub, {
        items: [
          {
            id: item.id,
            price: params.price,
            plan: params.plan,
            price_data: params.price_data,
            quantity: params.quantity,
            metadata: params.metadata,
          },
        ],
        proration_behavior: params.proration_behavior,
        proration_date: params.proration_date,
        payment_behavior: params.payment_behavior,
        off_session: params.off_session,
      });
      return next.items.data.find((i) => i.id === item.id)!;
    });

    app.del(
      '/v1/subscription_items/:id',
      {
        proration_behavior: p.enum(['always_invoice', 'create_prorations', 'none']),
        proration_date: p.timestamp(),
        clear_usage: p.bool(),
        payment_behavior: p.any(),
      },
      (req) => {
        const { ctx, params } = req;
        const item = ctx.store.of(SubscriptionItems).require(req.path.id!);
        const sub = requireSubscription(ctx, item.subscription);
        if (sub.items.data.length === 1) {
          throw invalidRequest(
            'A subscription must have at least one active item. To end the subscription, cancel it instead.',
          );
        }
        updateSubscription(ctx, sub, {
          items: [{ id: item.id, deleted: true }],
          proration_behavior: params.proration_behavior,
          proration_date: params.proration_date,
        });
        return { id: item.id, object: 'subscription_item', deleted: true };
      },
    );

    app.list('/v1/subscription_items', { subscription: p.required(p.string()) }, (req) => {
      const sub = requireSubscription(req.ctx, req.params.subscription, 'subscription');
      const table = req.ctx.store.of(SubscriptionItems);
      return paginate(req, [...sub.items.data].reverse(), table);
    });

    app.virtualExpansion('customer', 'subscriptions', (ctx, row) =>
      listOf(
        ctx.store.of(Subscriptions).sorted((s) => s.customer === row.id && s.status !== 'canceled'),
        `/v1/customers/${row.id as string}/subscriptions`,
      ),
    );

    // The engine's reactions.
    app.on(eventEmitted, onPaymentEvent);
    app.on(eventEmitted, onSetupIntentEvent);
    app.on(invoicePaid, (ctx, { invoice }) => onInvoicePaid(ctx, invoice));
    app.on(invoicePaymentFailed, (ctx, { invoice }) => onInvoicePaymentFailed(ctx, invoice));
    app.on(invoiceRetriesExhausted, (ctx, { invoice }) => onRetriesExhausted(ctx, invoice));
    app.on(invoiceOverdue, (ctx, { invoice }) => onInvoiceOverdue(ctx, invoice));

    app.on(customerDeleting, (ctx, { customer }) => {
      for (const sub of ctx.store
        .of(Subscriptions)
        .sorted((s) => s.customer === customer.id && !ENDED.has(s.status))) {
        cancelSubscription(ctx, sub, { reason: 'cancellation_requested' });
      }
    });

    app.on(testClockDeleting, (ctx, { clock }) => deleteClockObjects(ctx, clock.id));

    app.on(testClockAdvanceRequested, (ctx, { clock, to }) => {
      const subs = ctx.store
        .of(Subscriptions)
        .sorted((s) => s.test_clock === clock.id && !ENDED.has(s.status));
      let limit: number;
      let message: string;
      if (subs.length === 0) {
        limit = addIntervals(clock.frozen_time, { interval: 'year', interval_count: 1 }, 2);
        message =
          'The frozen_time cannot be more than two years in the future when there are no subscriptions in this test clock';
      } else {
        const shortest = subs
          .map((s) => subscriptionRecurrence(s))
          .sort((a, b) => approxSeconds(a) - approxSeconds(b))[0]!;
        limit = addIntervals(clock.frozen_time, shortest, 2);
        message =
          'The frozen_time cannot be more than two intervals in the future from the shortest subscription in this test clock';
      }
      if (to > limit) {
        throw invalidRequest(`${message} (at most ${limit}).`, 'frozen_time');
      }
    });
  },
};
