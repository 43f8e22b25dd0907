import { billingCalls } from './billing.ts';
import { checkoutCalls } from './checkout.ts';
import { type EntitlementClientOptions, entitlementCalls } from './entitlements.ts';
import { createTransport, type TransportOptions } from './http.ts';
import { invoiceCalls } from './invoices.ts';

export type {
  CallOptions,
  CheckoutSessionInput,
  PaymentIntentInput,
  PortalSessionInput,
} from './checkout.ts';
export type {
  ConsumeOptions,
  Consumption,
  Entitlement,
  EntitlementCheck,
  EntitlementClientOptions,
  TrackOptions,
  UnavailableCheck,
  UsageRecord,
} from './entitlements.ts';
export { TollgateError } from './http.ts';
export type { InvoiceListOptions, PaymentListOptions, RefundOptions } from './invoices.ts';
export type { paths } from './schema.ts';
export { type TollgateWebhookEvent, verifyTollgateSignature } from './webhooks.ts';

/**
 * Typed client for a host product's backend (secret key) or front end (user JWT).
 * Types come from the server's OpenAPI document (`npm run client:types`).
 */
export function createTollgateClient(
  opts: TransportOptions & {
    org?: string;
    /** `check`: fail mode, client-side cache TTL and timeout (docs/entitlements.md). */
    entitlements?: EntitlementClientOptions;
  },
) {
  const call = createTransport(opts);
  return {
    ...entitlementCalls(opts, opts.entitlements),
    ...billingCalls(call, opts.org),
    ...checkoutCalls(call, opts.org),
    ...invoiceCalls(call, opts, opts.org),
    /** Escape hatch: any operation in the contract, fully typed. */
    call,
    me: () => call('get', '/v1/me', {}),
    /** Public (no credentials needed): plans with features, trial days, credits and live prices. */
    getPlans: () => call('get', '/v1/plans', {}),
    /** Public: credit packs and metered add-ons with their prices. */
    getCreditProducts: () => call('get', '/v1/credit-products', {}),
    getOrg: (org: string) => call('get', '/v1/orgs/{org}', { path: { org } }),
    updateOrg: (org: string, body: { name?: string; billing_email?: string | null }) =>
      call('patch', '/v1/orgs/{org}', { path: { org }, body }),
    listMembers: (org: string) => call('get', '/v1/orgs/{org}/members', { path: { org } }),
    addMember: (
      org: string,
      body: {
        user_id?: string;
        external_user_id?: string;
        email?: string;
        name?: string;
        role: 'owner' | 'admin' | 'member';
      },
    ) => call('post', '/v1/orgs/{org}/members', { path: { org }, body }),
    listApiKeys: (org: string) => call('get', '/v1/orgs/{org}/api-keys', { path: { org } }),
    createApiKey: (org: string, name: string) =>
      call('post', '/v1/orgs/{org}/api-keys', { path: { org }, body: { name } }),
    revokeApiKey: (org: string, key: string) =>
      call('delete', '/v1/orgs/{org}/api-keys/{key}', { path: { org, key } }),
    /** One-time dashboard sign-in URL for a user of the host product (secret key only). */
    createDashboardSession: (
      org: string,
      body: {
        user_id?: string;
        external_user_id?: string;
        email?: string;
        name?: string;
        role?: 'owner' | 'admin' | 'member';
      },
    ) => call('post', '/v1/orgs/{org}/dashboard-sessions', { path: { org }, body }),
    getAuditLog: (org: string, query: { limit?: number; cursor?: number; action?: string } = {}) =>
      call('get', '/v1/orgs/{org}/audit-log', { path: { org }, query }),
  };
}

export type TollgateClient = ReturnType<typeof createTollgateClient>;
