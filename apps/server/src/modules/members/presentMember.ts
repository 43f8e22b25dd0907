import type { memberships } from '../../db/schema/index.ts';
import type { UserRow } from './repo.ts';

export function presentMember(m: typeof memberships.$inferSelect, u: UserRow) {
  return {
    id: m.id,
    user_id: u.id,
    external_user_id: u.externalId,
    email: u.email,
    name: u.name,
    role: m.role,
    created_at: m.createdAt.toISOString(),
  };
}
