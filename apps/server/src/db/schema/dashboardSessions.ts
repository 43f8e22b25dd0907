import { index, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { organizations } from './organizations.ts';
import { users } from './users.ts';

/**
 * A dashboard sign-in. Created with a one-time login token (5 minutes); redeeming it sets
 * `session_hash` (the cookie's hash) and clears the login token so it cannot be used twice.
 */
export const dashboardSessions = pgTable(
  'dashboard_sessions',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    loginTokenHash: text('login_token_hash'),
    loginExpiresAt: timestamp('login_expires_at', { withTimezone: true }).notNull(),
    sessionHash: text('session_hash'),
    csrfToken: text('csrf_token').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    redeemedAt: timestamp('redeemed_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('dashboard_sessions_login_token_key').on(t.loginTokenHash),
    uniqueIndex('dashboard_sessions_session_key').on(t.sessionHash),
    index('dashboard_sessions_org_idx').on(t.orgId),
  ],
);
