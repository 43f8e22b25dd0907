/**
 * Customer portal tables: configurations (`bpc_`) and sessions (`bps_`).
 */
import type Stripe from 'stripe';
import { defineTable } from '../../core/store.ts';

export const PortalConfigurations = defineTable<Stripe.BillingPortal.Configuration>({
  object: 'billing_portal.configuration',
  prefix: 'bpc',
  name: 'configuration',
});

export const PortalSessions = defineTable<Stripe.BillingPortal.Session>({
  object: 'billing_portal.session',
  prefix: 'bps',
  name: 'billing portal session',
});
