import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { apiKeys } from '../../db/schema/index.ts';

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export const insertKey = (tx: Tx, row: typeof apiKeys.$inferInsert) =>
  tx
    .insert(apiKeys)
    .values(row)
    .returning()
    .then((r) => r[0]!);

export const findByHash = (tx: Tx, hash: string) =>
  tx
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.hash, hash))
    .limit(1)
    .then((r) => r[0] ?? null);

export const listForOrg = (tx: Tx, orgId: string) =>
  tx.select().from(apiKeys).where(eq(apiKeys.orgId, orgId)).orderBy(desc(apiKeys.createdAt));

export const listPlatform = (tx: Tx) =>
  tx.select().from(apiKeys).where(isNull(apiKeys.orgId)).orderBy(desc(apiKeys.createdAt));

export const findById = (tx: Tx, id: string) =>
  tx
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.id, id))
    .limit(1)
    .then((r) => r[0] ?? null);

export const markRevoked = (tx: Tx, id: string, at: Date) =>
  tx
    .update(apiKeys)
    .set({ revokedAt: at })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning()
    .then((r) => r[0] ?? null);

export const touchLastUsed = (tx: Tx, id: string, at: Date) =>
  tx.update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, id));
