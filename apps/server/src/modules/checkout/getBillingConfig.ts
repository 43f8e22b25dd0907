import type { Deps } from '../../deps.ts';

/**
 * Public settings a browser needs to load Stripe.js. `stripe_api_base` is set only when Stripe is
 * the emulator (demo mode, tests): the dashboard's Stripe.js stand-in then knows where to go.
 */
export function getBillingConfig(deps: Pick<Deps, 'env'>) {
  const { STRIPE_PUBLISHABLE_KEY, STRIPE_SECRET_KEY, STRIPE_API_BASE } = deps.env;
  const live =
    /^(sk|rk)_live_/.test(STRIPE_SECRET_KEY ?? '') || /^pk_live_/.test(STRIPE_PUBLISHABLE_KEY ?? '');
  return {
    publishable_key: STRIPE_PUBLISHABLE_KEY ?? null,
    stripe_api_base: STRIPE_API_BASE ?? null,
    mode: live ? ('live' as const) : ('test' as const),
  };
}
