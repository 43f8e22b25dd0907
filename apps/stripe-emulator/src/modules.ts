/**
 * Every module the emulator serves. Add one line per new module (order matters only for
 * hook listeners, which run in registration order).
 */
import type { EmulatorModule } from './core/module.ts';
import { invoiceItemsModule } from './resources/billing/invoice-items.ts';
import { invoicesModule } from './resources/billing/invoices.ts';
import { subscriptionSchedulesModule } from './resources/billing/schedules.ts';
import { subscriptionsModule } from './resources/billing/subscriptions.ts';
import { couponsModule } from './resources/catalog/coupons.ts';
import { pricesModule } from './resources/catalog/prices.ts';
import { productsModule } from './resources/catalog/products.ts';
import { promotionCodesModule } from './resources/catalog/promotion-codes.ts';
import { checkoutPagesModule } from './resources/checkout/page.ts';
import { checkoutSessionsModule } from './resources/checkout/sessions.ts';
import { customersModule } from './resources/customers/customers.ts';
import { taxIdsModule } from './resources/customers/tax-ids.ts';
import { metersModule } from './resources/meters/meters.ts';
import { authenticationModule } from './resources/payments/authentication.ts';
import { chargesModule } from './resources/payments/charges.ts';
import { paymentIntentsModule } from './resources/payments/payment-intents.ts';
import { paymentMethodsModule } from './resources/payments/payment-methods.ts';
import { refundsModule } from './resources/payments/refunds.ts';
import { setupIntentsModule } from './resources/payments/setup-intents.ts';
import { eventsModule } from './resources/platform/events.ts';
import { testClocksModule } from './resources/platform/test-clocks.ts';
import { webhookEndpointsModule } from './resources/platform/webhook-endpoints.ts';
import { portalConfigurationsModule } from './resources/portal/configurations.ts';
import { portalPagesModule } from './resources/portal/page.ts';
import { portalSessionsModule } from './resources/portal/sessions.ts';

export const modules: EmulatorModule[] = [
  eventsModule,
  webhookEndpointsModule,
  testClocksModule,
  customersModule,
  taxIdsModule,
  productsModule,
  pricesModule,
  couponsModule,
  promotionCodesModule,
  paymentMethodsModule,
  setupIntentsModule,
  paymentIntentsModule,
  chargesModule,
  refundsModule,
  authenticationModule,
  invoiceItemsModule,
  invoicesModule,
  subscriptionsModule,
  subscriptionSchedulesModule,
  metersModule,
  checkoutSessionsModule,
  checkoutPagesModule,
  portalConfigurationsModule,
  portalSessionsModule,
  portalPagesModule,
];
