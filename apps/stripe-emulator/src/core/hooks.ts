/**
 * Typed in-process hooks between modules. A module that owns a state change declares a hook
 * and runs it; another module listens without the owner knowing about it. Example: the
 * payment-intents module runs `paymentIntentStatusChanged` after 3-D Secure authentication,
 * and a later invoices module listens to mark the invoice paid.
 *
 *   export const invoicePaid = defineHook<{ invoice: Stripe.Invoice }>('invoice.paid');
 *   // owner:    runHook(ctx, invoicePaid, { invoice });
 *   // listener: in register(app): app.on(invoicePaid, (ctx, { invoice }) => { ... });
 *
 * Listeners run synchronously, in registration order, inside the caller's request or job,
 * so their events carry the same `request` and their state changes are atomic with it.
 * A listener may throw a StripeApiError to veto (for hooks documented as vetoable).
 */
import type { Emulator } from './context.ts';

export interface HookDef<P> {
  name: string;
  readonly _payload?: P;
}

export function defineHook<P>(name: string): HookDef<P> {
  return { name };
}

export type HookListener<P> = (ctx: Emulator, payload: P) => void;

export function runHook<P>(ctx: Emulator, hook: HookDef<P>, payload: P): void {
  const listeners = ctx.app.hooks.get(hook.name);
  if (!listeners) return;
  for (const listener of listeners) (listener as HookListener<P>)(ctx, payload);
}
