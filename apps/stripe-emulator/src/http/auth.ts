/**
 * API keys. One shared test-mode account: any `sk_test_...` (or restricted `rk_test_...`)
 * key is valid; `pk_test_...` keys only on routes marked publishable (confirming intents
 * from the browser). Bearer and Basic (`key:` as user) are accepted, like Stripe.
 */
import { StripeApiError } from './errors.ts';

export type KeyKind = 'secret' | 'publishable';

const NO_KEY =
  "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.";

function unauthorized(message: string): StripeApiError {
  return new StripeApiError({ status: 401, type: 'authentication_error', message });
}

/** Stripe shows the key's prefix and last four characters only. */
export function maskKey(key: string): string {
  const prefix = /^(sk|pk|rk)_(test|live)_/.exec(key)?.[0] ?? '';
  if (key.length <= prefix.length + 4)
    return `${prefix}${'*'.repeat(Math.max(0, key.length - prefix.length))}`;
  return `${prefix}${'*'.repeat(key.length - prefix.length - 4)}${key.slice(-4)}`;
}

function extractKey(header: string | undefined): string | null {
  if (!header) return null;
  const space = header.indexOf(' ');
  if (space === -1) return null;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return value || null;
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return (colon === -1 ? decoded : decoded.slice(0, colon)) || null;
  }
  return null;
}

export function authenticate(header: string | undefined, allowPublishable: boolean): KeyKind {
  const key = extractKey(header);
  if (!key) throw unauthorized(NO_KEY);
  if (/^(sk|rk)_test_[A-Za-z0-9_]+$/.test(key)) return 'secret';
  if (/^pk_test_[A-Za-z0-9_]+$/.test(key)) {
    if (allowPublishable) return 'publishable';
    throw unauthorized(
      'This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.',
    );
  }
  throw unauthorized(`Invalid API Key provided: ${maskKey(key)}`);
}
