import type { Deps } from './deps.ts';
import type { Task } from './jobs/index.ts';
import { syncCustomerTask } from './modules/customers/syncCustomerTask.ts';
import { sendEmailTask } from './modules/emails/sendEmailTask.ts';
import { deliverWebhookTask } from './modules/outgoing-webhooks/deliverWebhookTask.ts';
import { reconcileDriftTask } from './modules/reconciliation/driftTask.ts';

/**
 * Every background task the worker runs. Each feature adds its tasks here (webhook application,
 * credit expiry, reconciliation, ...). A worker only claims the tasks it knows.
 */
export const tasks: readonly Task<unknown, Deps>[] = [
  syncCustomerTask as Task<unknown, Deps>,
  deliverWebhookTask as Task<unknown, Deps>,
  reconcileDriftTask as Task<unknown, Deps>,
  sendEmailTask as Task<unknown, Deps>,
];
