import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { hashSessionToken } from '../../http/auth/secrets.ts';
import { DomainError } from '../../http/errors.ts';
import { randomToken } from '../../ids.ts';
import { recordAudit } from '../audit/recordAudit.ts';
import { redeem } from './repo.ts';

export const SESSION_TTL_MS = 12 * 60 * 60_000;

/** Turns a one-time login token into a session cookie value. Used, expired or unknown → 401. */
export async function redeemLoginLink(
  deps: Pick<Deps, 'database' | 'clock' | 'env'>,
  loginToken: string,
  requestId: string,
) {
  const now = deps.clock.now();
  const cookieToken = randomToken(43);
  const session = await withSystemTx(deps.database, async (tx) => {
    const row = await redeem(
      tx,
      hashSessionToken(deps.env.sessionSecret, loginToken),
      hashSessionToken(deps.env.sessionSecret, cookieToken),
      now,
      new Date(now.getTime() + SESSION_TTL_MS),
    );
    if (row)
      await recordAudit(
        tx,
        { actor: { type: 'user', id: row.userId }, requestId },
        { orgId: row.orgId, action: 'dashboard_session.signed_in', targetType: 'user', targetId: row.userId },
      );
    return row;
  });
  if (!session)
    throw new DomainError('unauthenticated', 'this sign-in link is invalid, expired or already used');
  return { cookieToken, session };
}
