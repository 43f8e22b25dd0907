import { boolean, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * A person. Users are global (one person may belong to several orgs); what they may do in an
 * org comes from `memberships`, which is tenant-scoped.
 */
export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    /** Subject id from the host product's identity provider (JWT `sub`). */
    externalId: text('external_id'),
    email: text('email'),
    name: text('name'),
    isPlatformOperator: boolean('is_platform_operator').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('users_external_id_key').on(t.externalId)],
);
