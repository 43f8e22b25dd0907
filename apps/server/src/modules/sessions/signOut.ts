import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { revokeSession } from './repo.ts';

export async function signOut(deps: Pick<Deps, 'database' | 'clock'>, sessionId: string) {
  await withSystemTx(deps.database, (tx) => revokeSession(tx, sessionId, deps.clock.now()));
}
