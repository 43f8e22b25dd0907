/**
 * The control surface of a running emulator, shared by the in-process handle
 * (`emulator.control.advanceTime(...)`) and the HTTP control API (`POST /_emulator/advance`).
 */
import type { RetrySchedule } from '../core/context.ts';
import type { Job, JobFailure } from '../core/scheduler.ts';
import type { ApiFault, ApiFaultSpec } from '../http/faults.ts';
import type { Delivery, WebhookFault } from '../webhooks/dispatcher.ts';
import type { EmulatorSnapshot } from './snapshot.ts';

export interface WebhookEndpointSpec {
  url: string;
  /** Signing secret; generated (whsec_...) when absent. */
  secret?: string;
  /** Defaults to ['*']. */
  enabled_events?: string[];
}

export interface Controls {
  /** Forget all state (objects, events, jobs, faults, deliveries, time offset). */
  reset(): void;
  /** Move the global clock forward and run the jobs that became due. */
  advanceTime(opts: { seconds?: number; to?: number }): { now: number; jobsRun: number };
  /** Global clock, unix seconds. */
  now(): number;
  retrySchedule(): RetrySchedule;
  setRetrySchedule(schedule: Partial<RetrySchedule>): RetrySchedule;
  injectFault(spec: ApiFaultSpec): ApiFault;
  injectWebhookFault(spec: WebhookFault): void;
  clearFaults(): void;
  deliveries(filter?: { eventType?: string; eventId?: string }): Delivery[];
  /** Resolves when no webhook delivery is in flight or waiting for a retry. */
  waitForDeliveries(): Promise<void>;
  /** Current state; also written to the snapshot file when one is configured. */
  snapshot(): EmulatorSnapshot;
  /** Replace the state with a snapshot (or the snapshot file's content when omitted). */
  restore(snapshot?: EmulatorSnapshot): void;
  addWebhookEndpoint(spec: WebhookEndpointSpec): { id: string; url: string; secret: string };
  /** Complete or fail the 3-D Secure step of a SetupIntent / PaymentIntent in requires_action. */
  authenticate(intentId: string, outcome?: 'succeed' | 'fail'): unknown;
  pendingJobs(): Job[];
  jobFailures(): JobFailure[];
}
