/**
 * @tollgate/stripe-emulator — a stateful Stripe API emulator for the official `stripe` SDK.
 *
 *   const emulator = await startEmulator({ port: 0 });
 *   const stripe = new Stripe('sk_test_123', { host: '127.0.0.1', port: emulator.port, protocol: 'http' });
 */
export type { Controls, WebhookEndpointSpec } from './control/controls.ts';
export type { EmulatorSnapshot } from './control/snapshot.ts';
export type { Emulator, RetrySchedule } from './core/context.ts';
export type { EventRow } from './core/events.ts';
export { type EmulatorOptions, type RunningEmulator, startEmulator } from './emulator.ts';
export type { ApiFault, ApiFaultSpec } from './http/faults.ts';
export { PINNED_API_VERSION } from './http/versions.ts';
export type { Delivery, WebhookFault } from './webhooks/dispatcher.ts';
