import { z } from 'zod';
import type { MemberRef } from './addMember.ts';

/** `{ user_id }` for a known user, or `{ external_user_id, email?, name? }` for an IdP subject. */
export const memberRefFields = {
  user_id: z.string().regex(/^usr_/, 'must be a user id (usr_...)').optional(),
  external_user_id: z.string().min(1).max(200).optional(),
  email: z.email().max(320).optional(),
  name: z.string().min(1).max(200).optional(),
};

export function refineMemberRef(
  v: { user_id?: string | undefined; external_user_id?: string | undefined },
  ctx: z.RefinementCtx,
) {
  if (!v.user_id === !v.external_user_id)
    ctx.addIssue({
      code: 'custom',
      path: ['user_id'],
      message: 'give exactly one of user_id or external_user_id',
    });
}

export function toMemberRef(v: {
  user_id?: string | undefined;
  external_user_id?: string | undefined;
  email?: string | undefined;
  name?: string | undefined;
}): MemberRef {
  return v.user_id
    ? { userId: v.user_id }
    : { externalId: v.external_user_id!, email: v.email, name: v.name };
}

export const memberView = z
  .object({
    id: z.string(),
    user_id: z.string(),
    external_user_id: z.string().nullable(),
    email: z.string().nullable(),
    name: z.string().nullable(),
    role: z.enum(['owner', 'admin', 'member']),
    created_at: z.string(),
  })
  .meta({ id: 'Member' });
