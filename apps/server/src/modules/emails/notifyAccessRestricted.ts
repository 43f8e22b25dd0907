import { and, eq, isNotNull, lte, or } from 'drizzle-orm';
import { organizations } from '../../db/schema/index.ts';
import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { enqueueEmail } from './enqueueEmail.ts';
import { billingUrl } from './links.ts';

/**
 * Access is restricted when the grace period ends (computed on read, see effectiveBillingState),
 * so no event announces it: the recurring drift check calls this and emails every org whose grace
 * ended. The cause is the failure episode (`pastDueSince`), so each failure is announced once
 * however often the check runs; a later failure after a recovery is a new episode and a new email.
 * Returns how many emails were written.
 */
export async function notifyAccessRestricted(deps: Pick<Deps, 'database' | 'clock' | 'env'>) {
  const now = deps.clock.now();
  return withSystemTx(deps.database, async (tx) => {
    const due = await tx
      .select({ id: organizations.id, since: organizations.pastDueSince })
      .from(organizations)
      .where(
        and(
          or(eq(organizations.billingState, 'past_due'), eq(organizations.billingState, 'restricted')),
          isNotNull(organizations.pastDueSince),
          lte(organizations.graceEndsAt, now),
        ),
      );
    let written = 0;
    for (const org of due) {
      const since = org.since!.toISOString();
      const sent = await enqueueEmail(tx, {
        causeKey: `email.access_restricted:${org.id}:${since}`,
        orgId: org.id,
        template: 'access_restricted',
        data: { since, billingUrl: billingUrl(deps.env, org.id) },
      });
      if (sent) written++;
    }
    return written;
  });
}
