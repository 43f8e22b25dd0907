import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { hashSessionToken } from '../../http/auth/secrets.ts';
import { findLiveSession } from './repo.ts';

export async function authenticateSession(
  deps: Pick<Deps, 'database' | 'clock' | 'env'>,
  cookieToken: string,
) {
  return withSystemTx(deps.database, (tx) =>
    findLiveSession(tx, hashSessionToken(deps.env.sessionSecret, cookieToken), deps.clock.now()),
  );
}
