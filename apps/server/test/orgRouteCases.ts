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
];
