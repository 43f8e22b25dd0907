import type { Tx } from '../../db/client.ts';
import { newId } from '../../ids.ts';
import { upsertUserRow } from './repo.ts';

/** Finds or creates the user an identity-provider subject stands for. */
export function upsertUser(
  tx: Tx,
  input: { externalId: string; email?: string | null; name?: string | null },
) {
  return upsertUserRow(tx, {
    id: newId('user'),
    externalId: input.externalId,
    email: input.email ?? null,
    name: input.name ?? null,
  });
}
