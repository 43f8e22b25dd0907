/**
 * Paying a Checkout Session:
 *   - the internal API that Stripe.js and the Stripe CLI's fixtures use:
 *     `GET /v1/payment_pages/:cs` (the page's data) and `POST /v1/payment_pages/:cs/confirm`
 *     (`payment_method` or `payment_method_data`, `expected_amount`, `email`, ...);
 *   - the hosted page at the session's `url`, `GET /c/pay/:cs`: line items, total, an email,
 *     a test card number and a Pay button that posts back to the same address. Success
 *     redirects to `success_url` ({CHECKOUT_SESSION_ID} filled in); a card that needs
 *     3-D Secure goes through the emulator's 3DS page and comes back here.
 * Both end in `confirmCheckoutSession` (complete.ts).
 */
import type Stripe from 'stripe';
import { escapeHtml, htmlReply, redirectReply } from '../../control/reply.ts';
import type { Emulator } from '../../core/context.ts';
import { listOf } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { StripeApiError } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { resolvePaymentMethod } from '../payments/payment-method-ops.ts';
import { createPaymentMethodFromParams, paymentMethodDataParams } from '../payments/payment-method-params.ts';
import { PaymentIntents, SetupIntents } from '../payments/tables.ts';
import { confirmCheckoutSession } from './complete.ts';
import { CheckoutSessions } from './tables.ts';

const ignored = p.any();

/** success_url with the session id filled in. */
export function successUrl(session: Stripe.Checkout.Session): string | null {
  return session.success_url?.replaceAll('{CHECKOUT_SESSION_ID}', session.id) ?? null;
}

/** What `GET /v1/payment_pages/:cs` answers: the data a payment page renders. */
function paymentPage(ctx: Emulator, session: Stripe.Checkout.Session) {
  const items = ctx.store.of(CheckoutSessions).meta(session.id)?.lineItems ?? [];
  return {
    id: session.id,
    object: 'payment_page',
    amount_subtotal: session.amount_subtotal,
    amount_total: session.amount_total,
    cancel_url: session.cancel_url,
    currency: session.currency,
    customer: session.customer,
    customer_email: session.customer_email ?? session.customer_details?.email ?? null,
    expires_at: session.expires_at,
    line_items: listOf(items, `/v1/checkout/sessions/${session.id}/line_items`),
    livemode: false,
    mode: session.mode,
    payment_intent:
      typeof session.payment_intent === 'string'
        ? (ctx.store.of(PaymentIntents).get(session.payment_intent) ?? null)
        : null,
    payment_method_types: session.payment_method_types,
    payment_status: session.payment_status,
    session_id: session.id,
    setup_intent:
      typeof session.setup_intent === 'string'
        ? (ctx.store.of(SetupIntents).get(session.setup_intent) ?? null)
        : null,
    status: session.status,
    success_url: successUrl(session),
    total_details: session.total_details,
    url: session.url,
  };
}

function money(amount: number | null, currency: string | null): string {
  if (amount === null) return '';
  return `${(amount / 100).toFixed(2)} ${(currency ?? '').toUpperCase()}`;
}

function shell(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
table{width:100%;border-collapse:collapse;margin:1rem 0}td,th{padding:.3rem;border-bottom:1px solid #ddd;text-align:left}
label{display:block;margin:.6rem 0}input{font-size:1rem;padding:.3rem;width:100%;box-sizing:border-box}
input.qty{width:5rem}button{font-size:1rem;padding:.6rem 1.4rem;margin-top:1rem;cursor:pointer}
.error{color:#b00020}.muted{color:#666}</style></head><body>${body}</body></html>`;
}

function renderForm(ctx: Emulator, session: Stripe.Checkout.Session, error = ''): string {
  const items = ctx.store.of(CheckoutSessions).meta(session.id)?.lineItems ?? [];
  const rows = items
    .map((item) => {
      const qty = item.adjustable_quantity?.enabled
        ? `<input class="qty" type="number" name="qty_${escapeHtml(item.id)}" value="${item.quantity ?? 0}" min="${item.adjustable_quantity.minimum ?? 0}" max="${item.adjustable_quantity.maximum ?? 99}">`
        : escapeHtml(String(item.quantity ?? 'metered'));
      const interval = item.price?.recurring ? ` / ${escapeHtml(item.price.recurring.interval)}` : '';
      return `<tr><td>${escapeHtml(item.description ?? item.price?.id ?? '')}</td><td>${qty}</td><td>${escapeHtml(money(item.amount_total, item.currency))}${interval}</td></tr>`;
    })
    .join('');
  const total =
    session.mode === 'setup'
      ? '<p>Save a card for future payments.</p>'
      : `<table><tr><th>Item</th><th>Qty</th><th>Amount</th></tr>${rows}</table><p><strong>Total due today: ${escapeHtml(money(session.amount_total, session.currency))}</strong></p>`;
  const email = session.customer_email ?? session.customer_details?.email ?? '';
  const button =
    session.mode === 'setup' ? 'Save card' : session.mode === 'subscription' ? 'Subscribe' : 'Pay';
  const cancel = session.cancel_url
    ? `<p><a href="${escapeHtml(session.cancel_url)}" id="cancel">Cancel</a></p>`
    : '';
  return shell(
    'Checkout',
    `<h1>Checkout</h1><p class="muted">Stripe emulator — test mode — <code>${escapeHtml(session.id)}</code></p>
${error ? `<p class="error" id="error">${escapeHtml(error)}</p>` : ''}${total}
<form method="post" action="/c/pay/${escapeHtml(session.id)}">
<label>Email <input type="email" name="email" value="${escapeHtml(email)}"></label>
<label>Name on card <input name="name" value=""></label>
<label>Card number <input name="card_number" value="4242 4242 4242 4242" inputmode="numeric"></label>
<label>Expiry (MM/YY) <input name="exp" value="12/34"></label>
<label>CVC <input name="cvc" value="123"></label>
<button type="submit" id="submit">${button}</button></form>${cancel}`,
  );
}

function renderDone(session: Stripe.Checkout.Session): string {
  const next = successUrl(session);
  const link = next ? `<p><a href="${escapeHtml(next)}" id="continue">Continue</a></p>` : '';
  if (session.status === 'expired') {
    const back = session.cancel_url ? `<p><a href="${escapeHtml(session.cancel_url)}">Back</a></p>` : '';
    return shell('Checkout expired', `<h1>This Checkout Session has expired</h1>${back}`);
  }
  return shell(
    'Thanks',
    `<h1>Thanks for your order</h1><p id="status">${escapeHtml(session.payment_status)}</p>${link}`,
  );
}

function field(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** The browser form: card fields -> PaymentMethod -> confirm. */
function submitForm(ctx: Emulator, id: string, body: Record<string, unknown>) {
  const table = ctx.store.of(CheckoutSessions);
  const session = table.get(id);
  if (!session) return htmlReply(shell('Not found', '<h1>Unknown Checkout Session</h1>'), 404);
  if (session.status !== 'open') return htmlReply(renderDone(session));
  const quantities: Record<string, number> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key.startsWith('qty_') && typeof value === 'string' && /^\d+$/.test(value)) {
      quantities[key.slice(4)] = Number(value);
    }
  }
  const [month, year] = (field(body, 'exp') ?? '').split('/').map((s) => s.trim());
  try {
    const pm = createPaymentMethodFromParams(
      ctx,
      {
        type: 'card',
        card: {
          number: (field(body, 'card_number') ?? '').replace(/\s/g, ''),
          exp_month: /^\d+$/.test(month ?? '') ? Number(month) : undefined,
          exp_year: /^\d+$/.test(year ?? '') ? Number(year) : undefined,
          cvc: field(body, 'cvc'),
        },
        billing_details: { email: field(body, 'email') ?? null, name: field(body, 'name') ?? null },
      },
      'card',
    );
    const after = confirmCheckoutSession(ctx, session, {
      paymentMethod: pm,
      email: field(body, 'email'),
      name: field(body, 'name'),
      quantities,
    });
    if (after.status !== 'open') {
      const next = successUrl(after);
      return next ? redirectReply(next) : htmlReply(renderDone(after));
    }
    // 3-D Secure: the intent waits in requires_action; authenticate, then come back here.
    const intent =
      typeof after.payment_intent === 'string'
        ? ctx.store.of(PaymentIntents).get(after.payment_intent)
        : typeof after.setup_intent === 'string'
          ? ctx.store.of(SetupIntents).get(after.setup_intent)
          : undefined;
    if (intent?.status === 'requires_action') {
      const back = `${ctx.baseUrl}/c/pay/${after.id}`;
      return redirectReply(`/_emulator/3ds/${intent.id}?return_url=${encodeURIComponent(back)}`);
    }
    return htmlReply(renderForm(ctx, after, 'The payment is being processed.'));
  } catch (err) {
    if (!(err instanceof StripeApiError)) throw err;
    const current = table.get(id) ?? session;
    return htmlReply(renderForm(ctx, current, err.fields.message), err.fields.status);
  }
}

export const checkoutPagesModule: EmulatorModule = {
  name: 'checkout_pages',
  register(app) {
    app.get(
      '/v1/payment_pages/:id',
      {
        key: ignored,
        eid: ignored,
        browser_locale: ignored,
        browser_timezone: ignored,
        referrer_origin: ignored,
      },
      (req) => paymentPage(req.ctx, req.ctx.store.of(CheckoutSessions).require(req.path.id!, 'session')),
      { publishable: true },
    );

    app.post(
      '/v1/payment_pages/:id/confirm',
      {
        payment_method: p.string(),
        payment_method_data: paymentMethodDataParams,
        expected_amount: p.int({ min: 0 }),
        expected_payment_method_type: p.string(),
        email: p.string(),
        // Sent by Stripe.js; not needed here.
        key: ignored,
        eid: ignored,
        guid: ignored,
        muid: ignored,
        sid: ignored,
        version: ignored,
        js_checksum: ignored,
        init_checksum: ignored,
        referrer: ignored,
        consent: ignored,
        shipping: ignored,
        tax_id_collection: ignored,
        last_displayed_line_item_group_details: ignored,
        client_attribution_metadata: ignored,
        passive_captcha_token: ignored,
        return_url: ignored,
      },
      (req) => {
        const { ctx, params } = req;
        const session = ctx.store.of(CheckoutSessions).require(req.path.id!, 'session');
        let pm: Stripe.PaymentMethod;
        if (params.payment_method_data) {
          pm = createPaymentMethodFromParams(ctx, params.payment_method_data, 'payment_method_data[card]');
        } else if (params.payment_method) {
          pm = resolvePaymentMethod(ctx, params.payment_method, 'payment_method');
        } else {
          throw new StripeApiError({
            status: 400,
            type: 'invalid_request_error',
            code: 'parameter_missing',
            message: 'Missing required param: payment_method.',
            param: 'payment_method',
          });
        }
        const after = confirmCheckoutSession(ctx, session, {
          paymentMethod: pm,
          email: params.email,
          expectedAmount: params.expected_amount,
        });
        return paymentPage(ctx, after);
      },
      { publishable: true },
    );

    app.control('GET', '/c/pay/:id', (ctx, _body, path) => {
      const session = ctx.store.of(CheckoutSessions).get(path.id!);
      if (!session) return htmlReply(shell('Not found', '<h1>Unknown Checkout Session</h1>'), 404);
      if (session.status !== 'open') return htmlReply(renderDone(session));
      // Back from a failed 3-D Secure challenge: say so.
      const intent =
        typeof session.payment_intent === 'string'
          ? ctx.store.of(PaymentIntents).get(session.payment_intent)
          : null;
      const error = intent?.last_payment_error?.message ?? '';
      return htmlReply(renderForm(ctx, session, error));
    });

    app.control('POST', '/c/pay/:id', (ctx, body, path) => submitForm(ctx, path.id!, body));
  },
};
