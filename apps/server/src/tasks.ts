import type { Deps } from './deps.ts';
import type { Task } from './jobs/index.ts';
import { autoTopUpTask } from './modules/credit-alerts/autoTopUpTask.ts';
import { checkAutoTopUpTask } from './modules/credit-alerts/checkAutoTopUpTask.ts';
import { expireCreditsTask } from './modules/credits/expireCreditsTask.ts';
import { syncCustomerTask } from './modules/customers/syncCustomerTask.ts';
import { sendEmailTask } from './modules/emails/sendEmailTask.ts';
import { reportUsageTask } from './modules/metered-usage/reportUsageTask.ts';
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
  expireCreditsTask as Task<unknown, Deps>,
  autoTopUpTask as Task<unknown, Deps>,
  checkAutoTopUpTask as Task<unknown, Deps>,
  reportUsageTask as Task<unknown, Deps>,
  sendEmailTask as Task<unknown, Deps>,
];
