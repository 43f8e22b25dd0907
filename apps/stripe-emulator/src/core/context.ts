/**
 * The emulator instance every handler, job and hook listener receives as `ctx`.
 * Several emulators can run in one process (tests do); nothing is global except the
 * static declarations (tables, jobs, hooks), which carry no state.
 */
import type { Router } from '../http/router.ts';
import type { WebhookDispatcher } from '../webhooks/dispatcher.ts';
import type { Clock } from './clock.ts';
import type { HookListener } from './hooks.ts';
import type { Scheduler } from './scheduler.ts';
import type { Store } from './store.ts';

/** Event.request: the API request that caused a change, or null when Stripe did it itself. */
export interface EventRequest {
  id: string | null;
  idempotency_key: string | null;
}

/** Smart retries after a failed invoice payment (used by the billing engine). */
export interface RetrySchedule {
  /** Days after the first failed attempt at which to retry, e.g. [3, 5, 7]. */
  days: number[];
  /** What happens to the subscription when retries run out. */
  end: 'canceled' | 'unpaid' | 'past_due';
  markUncollectible: boolean;
}

/** Settings that belong to the emulated account; part of a snapshot. */
export interface Settings {
  retrySchedule: RetrySchedule;
}

export interface WebhookTiming {
  /** Delays before each retry of a failed delivery, in ms. */
  retryDelaysMs: number[];
  timeoutMs: number;
}

/** A virtual expandable field, e.g. `customer.subscriptions` computed on demand. */
export type VirtualExpansion = (ctx: Emulator, row: Record<string, unknown>) => unknown;

/** A control-API route (`/_emulator/...`): JSON body in, JSON out, no auth. */
export type ControlHandler = (
  ctx: Emulator,
  body: Record<string, unknown>,
  path: Record<string, string>,
) => unknown;

/** What the modules registered: routes, hook listeners, virtual expansions. */
export interface App {
  router: Router;
  /** Control routes added by modules (e.g. the 3-D Secure helper); matched after built-ins. */
  controlRoutes: { method: string; pattern: string; handler: ControlHandler }[];
  hooks: Map<string, HookListener<never>[]>;
  virtualExpansions: Map<string, VirtualExpansion>;
}

export interface Emulator {
  store: Store;
  clock: Clock;
  scheduler: Scheduler;
  app: App;
  webhooks: WebhookDispatcher;
  settings: Settings;
  apiVersion: string;
  /** This emulator's own base URL (http://127.0.0.1:port), for URLs it hands out (3DS pages). */
  baseUrl: string;
  /** The API request being handled (events default to it), null inside jobs. */
  request: EventRequest | null;
  withRequest<T>(request: EventRequest | null, fn: () => T): T;
  log: (message: string, extra?: Record<string, unknown>) => void;
}

/** Stripe's recommended default: 8 tries (the first attempt + 7 retries) within 2 weeks. */
export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = {
  days: [1, 3, 5, 7, 9, 11, 14],
  end: 'canceled',
  markUncollectible: false,
};
