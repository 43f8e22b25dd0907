import type { Deps } from '../../deps.ts';
import { invalidateEntitlements } from '../entitlements/entitlementCache.ts';
import { HANDLERS } from './dispatch.ts';
import type { Outcome } from './handlers/context.ts';
import { resolveOrg } from './resolveOrg.ts';
import { stripeEventSchema } from './verifyStripeEvent.ts';

/** Applies one stored event through the dispatch table. Throws to ask for a retry. */
export async function applyStoredEvent(
  deps: Deps,
  payload: unknown,
): Promise<{ outcome: Outcome; orgId: string | null }> {
  const event = stripeEventSchema.parse(payload);
  const handler = HANDLERS[event.type];
  if (!handler) return { outcome: 'ignored', orgId: null };
  const object = event.data.object;
  const orgId = await resolveOrg(deps, object);
  if (!orgId) return { outcome: 'ignored', orgId: null };
  try {
    return { outcome: await handler({ deps, event, orgId, object }), orgId };
  } finally {
    // Whatever the handler committed is visible to this process's next check at once.
    invalidateEntitlements(deps, orgId);
  }
}
