import type { Deps } from './deps.ts';
import type { Task } from './jobs/index.ts';
import { syncCustomerTask } from './modules/customers/syncCustomerTask.ts';

/**
 * Every background task the worker runs. Each feature adds its tasks here (webhook application,
 * credit expiry, reconciliation, ...). A worker only claims the tasks it knows.
 */
export const tasks: readonly Task<unknown, Deps>[] = [syncCustomerTask as Task<unknown, Deps>];
