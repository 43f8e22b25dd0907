/**
 * The customer portal page at a session's url, `GET /p/session/:id` (minimal): the
 * customer's subscriptions with a Cancel button when the configuration allows it, invoice
 * history and saved cards when enabled, and a link back to `return_url`. Cancel posts to
 * `/p/session/:id/cancel`, which cancels through the same billing functions as the API
 * (at period end or immediately, per the configuration), so the events are the same.
 * A `subscription_cancel` flow shows only that subscription and then follows
 * `after_completion` (redirect, hosted confirmation, or back to the portal).
 */
import type Stripe from 'stripe';
import { escapeHtml, htmlReply, redirectReply } from '../../control/reply.ts';
import type { Emulator } from '../../core/context.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { StripeApiError } from '../../http/errors.ts';
import { Customers } from '../customers/tables.ts';
import { PaymentMethods } from '../payments/tables.ts';
import {
  type CancellationFeedback,
  cancelFromPortal,
  cancellable,
  customerInvoices,
  customerSubscriptions,
  findSubscription,
} from './subscriptions.ts';
import { PortalConfigurations, PortalSessions } from './tables.ts';

function money(amount: number, currency: string): string {
  return `${(amount / 100).toFixed(2)} ${currency.toUpperCase()}`;
}

function date(ts: number | null | undefined): string {
  return ts ? new Date(ts * 1000).toISOString().slice(0, 10) : '';
}

function shell(body: string, status = 200) {
  return htmlReply(
    `<!doctype html><html><head><meta charset="utf-8"><title>Billing portal</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
table{width:100%;border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{padding:.3rem;border-bottom:1px solid #ddd;text-align:left}
button{padding:.3rem .8rem;cursor:pointer}.muted{color:#666}.error{color:#b00020}</style></head><body>${body}</body></html>`,
    status,
  );
}

const FEEDBACK = new Set([
  'customer_service',
  'low_quality',
  'missing_features',
  'other',
  'switched_service',
  'too_complex',
  'too_expensive',
  'unused',
]);

function render(ctx: Emulator, session: Stripe.BillingPortal.Session, message = ''): string {
  const config = ctx.store.of(PortalConfigurations).require(session.configuration as string);
  const { features } = config;
  const customer = ctx.store.of(Customers).get(session.customer);
  const flowSub = session.flow?.subscription_cancel?.subscription;
  const subs = customerSubscriptions(ctx, session.customer).filter((s) => !flowSub || s.id === flowSub);
  const cancelForm = (sub: (typeof subs)[number]) => {
    if (!features.subscription_cancel.enabled && !flowSub) return '';
    if (!cancellable(sub)) return sub.cancel_at_period_end ? 'Cancels at period end' : '';
    const reasons = features.subscription_cancel.cancellation_reason;
    const select = reasons.enabled
      ? `<select name="feedback">${reasons.options.map((o) => `<option value="${escapeHtml(o)}">${escapeHtml(o)}</option>`).join('')}</select>`
      : '';
    return `<form method="post" action="/p/session/${escapeHtml(session.id)}/cancel">
<input type="hidden" name="subscription" value="${escapeHtml(sub.id)}">${select}
<button type="submit" class="cancel" data-subscription="${escapeHtml(sub.id)}">Cancel subscription</button></form>`;
  };
  const rows = subs
    .map((sub) => {
      const items = sub.items.data
        .map((item) => {
          const price = item.price;
          const amount =
            price.unit_amount !== null ? money(price.unit_amount * (item.quantity ?? 1), price.currency) : '';
          return `${escapeHtml(price.nickname ?? price.id)} × ${item.quantity ?? 1} ${escapeHtml(amount)} / ${escapeHtml(price.recurring?.interval ?? '')}`;
        })
        .join('<br>');
      const periodEnd = sub.items.data[0]?.current_period_end;
      return `<tr id="${escapeHtml(sub.id)}"><td><code>${escapeHtml(sub.id)}</code></td><td class="status">${escapeHtml(sub.status)}</td><td>${items}</td><td>${escapeHtml(date(periodEnd))}</td><td>${cancelForm(sub)}</td></tr>`;
    })
    .join('');
  const subscriptions = `<h2>Subscriptions</h2>${
    subs.length
      ? `<table><tr><th>Subscription</th><th>Status</th><th>Items</th><th>Renews</th><th></th></tr>${rows}</table>`
      : '<p class="muted">No subscriptions.</p>'
  }`;
  let invoices = '';
  if (features.invoice_history.enabled && !flowSub) {
    const list = customerInvoices(ctx, session.customer);
    invoices = `<h2>Invoices</h2>${
      list.length
        ? `<table>${list
            .map(
              (inv) =>
                `<tr><td>${escapeHtml(inv.number ?? inv.id)}</td><td>${escapeHtml(date(inv.created))}</td><td>${escapeHtml(money(inv.total, inv.currency))}</td><td>${escapeHtml(inv.status ?? '')}</td><td>${inv.hosted_invoice_url ? `<a href="${escapeHtml(inv.hosted_invoice_url)}">View</a>` : ''}</td></tr>`,
            )
            .join('')}</table>`
        : '<p class="muted">No invoices.</p>'
    }`;
  }
  let cards = '';
  if (features.payment_method_update.enabled && !flowSub) {
    const pms = ctx.store.of(PaymentMethods).sorted((pm) => pm.customer === session.customer);
    cards = `<h2>Payment methods</h2>${
      pms.length
        ? `<ul>${pms.map((pm) => `<li>${escapeHtml(pm.card?.brand ?? pm.type)} •••• ${escapeHtml(pm.card?.last4 ?? '')}</li>`).join('')}</ul>`
        : '<p class="muted">No saved cards.</p>'
    }`;
  }
  const back = session.return_url
    ? `<p><a href="${escapeHtml(session.return_url)}" id="return">Return</a></p>`
    : '';
  const headline = config.business_profile.headline
    ? `<p>${escapeHtml(config.business_profile.headline)}</p>`
    : '';
  return `<h1>Billing portal</h1>${headline}<p class="muted">Stripe emulator — test mode — ${escapeHtml(customer?.email ?? session.customer)}</p>
${message ? `<p id="message">${escapeHtml(message)}</p>` : ''}${subscriptions}${invoices}${cards}${back}`;
}

function afterCancel(
  ctx: Emulator,
  session: Stripe.BillingPortal.Session,
  sub: { id: string; status: string },
) {
  const after = session.flow?.after_completion;
  if (after?.type === 'redirect' && after.redirect) return redirectReply(after.redirect.return_url);
  if (after?.type === 'hosted_confirmation') {
    return shell(
      `<h1>Subscription canceled</h1><p id="message">${escapeHtml(after.hosted_confirmation?.custom_message ?? 'Your subscription has been canceled.')}</p>${
        session.return_url ? `<p><a href="${escapeHtml(session.return_url)}">Return</a></p>` : ''
      }`,
    );
  }
  return shell(render(ctx, session, `Subscription ${sub.id}: ${sub.status}.`));
}

export const portalPagesModule: EmulatorModule = {
  name: 'billing_portal_pages',
  register(app) {
    app.control('GET', '/p/session/:id', (ctx, _body, path) => {
      const session = ctx.store.of(PortalSessions).get(path.id!);
      if (!session) return shell('<h1>Unknown portal session</h1>', 404);
      return shell(render(ctx, session));
    });

    app.control('POST', '/p/session/:id/cancel', (ctx, body, path) => {
      const session = ctx.store.of(PortalSessions).get(path.id!);
      if (!session) return shell('<h1>Unknown portal session</h1>', 404);
      const subId = typeof body.subscription === 'string' ? body.subscription : '';
      const sub = findSubscription(ctx, subId);
      if (!sub || sub.customer !== session.customer) {
        return shell(render(ctx, session, 'No such subscription for this customer.'), 404);
      }
      const flowSub = session.flow?.subscription_cancel?.subscription;
      if (flowSub && flowSub !== sub.id)
        return shell(render(ctx, session, 'This portal session is for another subscription.'), 400);
      const config = ctx.store.of(PortalConfigurations).require(session.configuration as string);
      // A cancel flow works even when the homepage does not offer cancelling.
      const feature = flowSub
        ? { ...config.features.subscription_cancel, enabled: true }
        : config.features.subscription_cancel;
      const feedback =
        typeof body.feedback === 'string' && FEEDBACK.has(body.feedback)
          ? (body.feedback as CancellationFeedback)
          : undefined;
      try {
        const after = cancelFromPortal(ctx, sub, feature, feedback);
        return afterCancel(ctx, session, after);
      } catch (err) {
        if (!(err instanceof StripeApiError)) throw err;
        return shell(render(ctx, session, err.fields.message), err.fields.status);
      }
    });
  },
};
