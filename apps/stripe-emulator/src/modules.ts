/**
 * Every module the emulator serves. Add one line per new module (order matters only for
 * hook listeners, which run in registration order).
 */
import type { EmulatorModule } from './core/module.ts';
import { customersModule } from './resources/customers/customers.ts';
import { taxIdsModule } from './resources/customers/tax-ids.ts';
import { eventsModule } from './resources/platform/events.ts';
import { testClocksModule } from './resources/platform/test-clocks.ts';
import { webhookEndpointsModule } from './resources/platform/webhook-endpoints.ts';

export const modules: EmulatorModule[] = [
  eventsModule,
  webhookEndpointsModule,
  testClocksModule,
  customersModule,
  taxIdsModule,
];
