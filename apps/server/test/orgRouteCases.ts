import type { OrgRouteCase } from './securitySuite.ts';

/** The security table: every org-scoped route with its minimum role and a malformed input. */
export const orgRouteCases: OrgRouteCase[] = [
  { method: 'GET', path: '/v1/orgs/{org}', minRole: 'member' },
  {
    method: 'PATCH',
    path: '/v1/orgs/{org}',
    minRole: 'admin',
    body: () => ({ name: 'Renamed' }),
    invalid: { body: { billing_email: 'not-an-email' }, field: 'billing_email' },
  },
  { method: 'GET', path: '/v1/orgs/{org}/members', minRole: 'member' },
  {
    method: 'POST',
    path: '/v1/orgs/{org}/members',
    minRole: 'admin',
    body: () => ({ external_user_id: `new_${Math.random()}`, role: 'member' }),
    invalid: { body: { external_user_id: 'x', role: 'superuser' }, field: 'role' },
  },
  {
    method: 'PATCH',
    path: '/v1/orgs/{org}/members/{member}',
    minRole: 'admin',
    params: (o) => ({ member: o.member.membershipId }),
    body: () => ({ role: 'member' }),
    invalid: { body: { role: 42 }, field: 'role' },
  },
  {
    method: 'DELETE',
    path: '/v1/orgs/{org}/members/{member}',
    minRole: 'admin',
    params: () => ({ member: 'mem_doesNotExist00000000' }),
  },
  { method: 'GET', path: '/v1/orgs/{org}/api-keys', minRole: 'admin' },
  {
    method: 'POST',
    path: '/v1/orgs/{org}/api-keys',
    minRole: 'admin',
    body: () => ({ name: 'ci' }),
    invalid: { body: { name: '' }, field: 'name' },
  },
  {
    method: 'DELETE',
    path: '/v1/orgs/{org}/api-keys/{key}',
    minRole: 'admin',
    params: () => ({ key: 'key_doesNotExist00000000' }),
  },
  {
    method: 'POST',
    path: '/v1/orgs/{org}/dashboard-sessions',
    minRole: 'admin',
    keyOnly: true,
    body: (o) => ({ user_id: o.member.userId }),
    invalid: { body: { user_id: 'nope' }, field: 'user_id' },
  },
  {
    method: 'GET',
    path: '/v1/orgs/{org}/audit-log',
    minRole: 'admin',
    invalid: { query: 'limit=1000', field: 'limit' },
  },

  { method: 'GET', path: '/v1/orgs/{org}/payment-methods', minRole: 'member' },
  {
    method: 'POST',
    path: '/v1/orgs/{org}/payment-methods/setup-intents',
    minRole: 'admin',
    body: () => ({}),
  },
  {
    method: 'POST',
    path: '/v1/orgs/{org}/payment-methods',
    minRole: 'admin',
    body: () => ({ payment_method_id: 'pm_card_visa' }),
    invalid: { body: { payment_method_id: 'card_4242' }, field: 'payment_method_id' },
  },
  {
    method: 'POST',
    path: '/v1/orgs/{org}/payment-methods/{pm}/default',
    minRole: 'admin',
    params: () => ({ pm: 'pm_doesNotExist000000' }),
    body: () => ({}),
  },
  {
    method: 'DELETE',
    path: '/v1/orgs/{org}/payment-methods/{pm}',
    minRole: 'admin',
    params: () => ({ pm: 'pm_doesNotExist000000' }),
  },

  { method: 'GET', path: '/v1/orgs/{org}/subscription', minRole: 'member' },
  {
    method: 'POST',
    path: '/v1/orgs/{org}/subscription',
    minRole: 'admin',
    body: () => ({ plan: 'basic' }),
    invalid: { body: { plan: 'basic', seats: 0 }, field: 'seats' },
  },
  {
    method: 'POST',
    path: '/v1/orgs/{org}/subscription/preview',
    minRole: 'member',
    body: () => ({ plan: 'professional' }),
    invalid: { body: { plan: 'professional', interval: 'weekly' }, field: 'interval' },
  },
  {
    method: 'PATCH',
    path: '/v1/orgs/{org}/subscription',
    minRole: 'admin',
    body: () => ({ plan: 'professional' }),
    invalid: { body: { plan: 'Pro Plan!' }, field: 'plan' },
  },
  { method: 'DELETE', path: '/v1/orgs/{org}/subscription/pending-change', minRole: 'admin' },
  { method: 'POST', path: '/v1/orgs/{org}/subscription/cancel', minRole: 'admin', body: () => ({}) },
  { method: 'POST', path: '/v1/orgs/{org}/subscription/resume', minRole: 'admin', body: () => ({}) },
  {
    method: 'POST',
    path: '/v1/orgs/{org}/subscription/cancel-now',
    minRole: 'owner',
    body: () => ({ refund: false }),
    invalid: { body: { refund: 'yes' }, field: 'refund' },
  },

  {
    method: 'POST',
    path: '/v1/orgs/{org}/checkout-sessions',
    minRole: 'admin',
    body: () => ({
      mode: 'payment',
      items: [{ pack: 'credits_1k', quantity: 1 }],
      success_url: 'https://app.example.test/ok',
      cancel_url: 'https://app.example.test/back',
    }),
    invalid: {
      body: { mode: 'payment', items: [], success_url: 'https://a.test/', cancel_url: 'https://a.test/' },
      field: 'items',
    },
  },
  {
    method: 'GET',
    path: '/v1/orgs/{org}/checkout-sessions/{id}',
    minRole: 'member',
    params: () => ({ id: 'cs_test_doesNotExist000000' }),
  },
  {
    method: 'POST',
    path: '/v1/orgs/{org}/payment-intents',
    minRole: 'admin',
    body: () => ({
      amount: 1500,
      currency: 'usd',
      description: 'Setup fee',
      idempotency_key: 'order_0000001',
    }),
    invalid: {
      body: { amount: 49, currency: 'usd', description: 'x', idempotency_key: 'order_0000001' },
      field: 'amount',
    },
  },
  {
    method: 'POST',
    path: '/v1/orgs/{org}/portal-sessions',
    minRole: 'admin',
    body: () => ({ return_url: 'https://app.example.test/billing' }),
    invalid: { body: { return_url: 'https://app.example.test/', flow: 'delete_everything' }, field: 'flow' },
  },

  // Streams on success; the suite only sends failing requests, which answer before any byte streams.
  { method: 'GET', path: '/v1/orgs/{org}/events/stream', minRole: 'member' },

  {
    method: 'GET',
    path: '/v1/orgs/{org}/invoices',
    minRole: 'member',
    invalid: { query: 'limit=0', field: 'limit' },
  },
  {
    method: 'GET',
    path: '/v1/orgs/{org}/invoices/{invoice}/pdf',
    minRole: 'member',
    params: () => ({ invoice: 'in_doesNotExist000000' }),
  },
  {
    method: 'GET',
    path: '/v1/orgs/{org}/payments',
    minRole: 'member',
    invalid: { query: 'offset=-1', field: 'offset' },
  },
  {
    method: 'POST',
    path: '/v1/orgs/{org}/payments/{payment}/refunds',
    minRole: 'owner',
    params: () => ({ payment: 'pi_doesNotExist000000' }),
    body: () => ({ idempotency_key: 'refund_0000001' }),
    invalid: { body: { amount: 0, idempotency_key: 'refund_0000001' }, field: 'amount' },
  },
];
