import type { Deps } from '../../deps.ts';
import { idempotencyKey } from '../../stripe/idempotencyKey.ts';
import { withStripeRetry } from '../../stripe/withStripeRetry.ts';

/** Ends a subscription schedule, leaving the subscription as it is now (undoes a pending downgrade). */
export async function releaseSchedule(deps: Pick<Deps, 'stripe'>, orgId: string, scheduleId: string) {
  const schedule = await withStripeRetry(() => deps.stripe.subscriptionSchedules.retrieve(scheduleId));
  if (schedule.status !== 'active' && schedule.status !== 'not_started') return;
  await withStripeRetry(() =>
    deps.stripe.subscriptionSchedules.release(
      scheduleId,
      {},
      { idempotencyKey: idempotencyKey(orgId, 'schedule.release', scheduleId) },
    ),
  );
}
