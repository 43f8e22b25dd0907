import Stripe from 'stripe';

export interface StripeClientOptions {
  secretKey: string;
  /** A Stripe-compatible base URL (the emulator); unset means api.stripe.com. */
  apiBase?: string | undefined;
  maxNetworkRetries?: number;
  timeoutMs?: number;
}

/**
 * The one place a Stripe client is made. The API version is the one the pinned `stripe` package
 * names, so objects always have the shapes its TypeScript types describe.
 */
export function createStripeClient(opts: StripeClientOptions): Stripe {
  const config: Stripe.StripeConfig = {
    maxNetworkRetries: opts.maxNetworkRetries ?? 2,
    timeout: opts.timeoutMs ?? 20_000,
    telemetry: false,
    appInfo: { name: 'Tollgate', url: 'https://github.com/tollgate' },
  };
  if (opts.apiBase) {
    const u = new URL(opts.apiBase);
    config.host = u.hostname;
    config.port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    config.protocol = u.protocol === 'https:' ? 'https' : 'http';
  }
  return new Stripe(opts.secretKey, config);
}
