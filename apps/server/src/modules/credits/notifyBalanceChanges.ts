import type { Deps } from '../../deps.ts';
import { afterBalanceChange, type BalanceChange } from '../credit-alerts/afterBalanceChange.ts';

/**
 * Hands committed balance changes to the alerts / auto top-up hook. Call it only after the
 * transaction that made them committed. Never throws: a failing alert must not fail the
 * consumption or grant that already happened.
 */
export async function notifyBalanceChanges(
  deps: Pick<Deps, 'database' | 'clock' | 'logger' | 'env'>,
  changes: readonly (BalanceChange | null | undefined)[],
): Promise<void> {
  const real = changes.filter((c): c is BalanceChange => !!c);
  if (!real.length) return;
  try {
    await afterBalanceChange(deps, real);
  } catch (err) {
    deps.logger.error({ err }, 'afterBalanceChange failed');
  }
}
