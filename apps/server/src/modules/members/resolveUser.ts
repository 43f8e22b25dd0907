import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { notFound } from '../../http/errors.ts';
import type { MemberRef } from './addMember.ts';
import { findUser } from './repo.ts';
import { upsertUser } from './upsertUser.ts';

/**
 * Finds (or, for an IdP subject, creates) the user a reference names. Runs as the system role:
 * row-level security hides users who are not yet members of the org from tenant transactions.
 * A user created here whose membership then fails is harmless — users are global identities.
 */
export async function resolveUser(deps: Pick<Deps, 'database'>, ref: MemberRef) {
  return withSystemTx(deps.database, async (tx) => {
    if ('userId' in ref) {
      const user = await findUser(tx, ref.userId);
      if (!user) throw notFound('user');
      return user;
    }
    return upsertUser(tx, { externalId: ref.externalId, email: ref.email ?? null, name: ref.name ?? null });
  });
}
