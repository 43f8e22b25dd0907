/**
 * 3-D Secure, emulated. An intent in `requires_action` waits until the customer completes or
 * fails the challenge:
 *   - tests / scripts: `POST /_emulator/authenticate/:intentId {"outcome":"succeed"|"fail"}`
 *     (or `emulator.control.authenticate(id, outcome)`);
 *   - browsers: next_action points at `GET /_emulator/3ds/:intentId`, a page with two buttons
 *     that posts back here and then redirects to the intent's return_url like Stripe does.
 * Effects (charges, events, hooks) have `request: null`: the customer did it, not the API.
 */

import { escapeHtml, htmlReply, redirectReply } from '../../control/reply.ts';
import type { Emulator } from '../../core/context.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { invalidRequest } from '../../http/errors.ts';
import { authenticatePaymentIntent } from './payment-intent-ops.ts';
import { authenticateSetupIntent } from './setup-intent-ops.ts';
import { PaymentIntents, SetupIntents } from './tables.ts';

function outcomeOf(value: unknown): 'succeed' | 'fail' {
  if (value === undefined || value === 'succeed' || value === 'success') return 'succeed';
  if (value === 'fail' || value === 'failure') return 'fail';
  throw invalidRequest(`outcome must be "succeed" or "fail", got ${String(value)}`);
}

export function authenticateIntent(ctx: Emulator, id: string, outcome: 'succeed' | 'fail') {
  return ctx.withRequest(null, () => {
    if (id.startsWith('seti_')) {
      return authenticateSetupIntent(ctx, ctx.store.of(SetupIntents).require(id), outcome);
    }
    return authenticatePaymentIntent(ctx, ctx.store.of(PaymentIntents).require(id), outcome);
  });
}

function page(id: string, returnUrl: string): string {
  const hidden = returnUrl ? `<input type="hidden" name="return_url" value="${escapeHtml(returnUrl)}">` : '';
  return `<!doctype html><html><head><meta charset="utf-8"><title>3D Secure test page</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;text-align:center}
button{font-size:1rem;padding:.6rem 1.2rem;margin:.4rem;cursor:pointer}</style></head>
<body><h1>3D Secure 2 test payment</h1><p>Stripe emulator — authentication for <code>${escapeHtml(id)}</code></p>
<form method="post" action="/_emulator/3ds/${escapeHtml(id)}">${hidden}
<button name="outcome" value="succeed" id="complete">Complete authentication</button>
<button name="outcome" value="fail" id="fail">Fail authentication</button></form></body></html>`;
}

export const authenticationModule: EmulatorModule = {
  name: 'authentication',
  register(app) {
    app.control('POST', '/_emulator/authenticate/:id', (ctx, body, path) =>
      authenticateIntent(ctx, path.id!, outcomeOf(body.outcome)),
    );

    app.control('GET', '/_emulator/3ds/:id', (ctx, body, path) => {
      const id = path.id!;
      if (!ctx.store.of(PaymentIntents).has(id) && !ctx.store.of(SetupIntents).has(id)) {
        return htmlReply('<!doctype html><p>Unknown intent.</p>', 404);
      }
      return htmlReply(page(id, typeof body.return_url === 'string' ? body.return_url : ''));
    });

    app.control('POST', '/_emulator/3ds/:id', (ctx, body, path) => {
      const id = path.id!;
      const intent = authenticateIntent(ctx, id, outcomeOf(body.outcome));
      const returnUrl = typeof body.return_url === 'string' ? body.return_url : '';
      if (!returnUrl) {
        return htmlReply(
          `<!doctype html><p>Authentication ${escapeHtml(String(body.outcome))}: ${escapeHtml(intent.status)}.</p>`,
        );
      }
      // Like Stripe: back to the merchant with the intent id, its client secret and a status.
      const kind = id.startsWith('seti_') ? 'setup_intent' : 'payment_intent';
      const url = new URL(returnUrl);
      url.searchParams.set(kind, id);
      url.searchParams.set(`${kind}_client_secret`, intent.client_secret ?? '');
      url.searchParams.set(
        'redirect_status',
        intent.status === 'requires_payment_method' ? 'failed' : 'succeeded',
      );
      return redirectReply(url.toString());
    });
  },
};
