import type { Deps } from '../../deps.ts';

/** A committed change of one org's credit balance (consumption, grant, expiry, revocation). */
export interface BalanceChange {
  orgId: string;
  before: number;
  after: number;
  /** Credits consumed by this change (0 for grants), for unusual-usage detection. */
  consumed: number;
  at: Date;
}

/**
 * Called by the credits ledger after a transaction that changed balances has COMMITTED (never
 * inside it, so a slow alert can't hold the org's lock). Evaluates low-balance and unusual-usage
 * alerts and auto top-up. Must not throw into the caller and must stay cheap on the hot path.
 */
export async function afterBalanceChange(_deps: Deps, _changes: readonly BalanceChange[]): Promise<void> {
  // Implemented with credit alerts (issue #6).
}
