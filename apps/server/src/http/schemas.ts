import { z } from 'zod';
import { ORG_ROLES } from '../db/schema/index.ts';

export const errorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      request_id: z.string(),
      details: z.record(z.string(), z.unknown()),
    }),
  })
  .meta({ id: 'Error' });

/** Error replies every authenticated route can give; spread into `response`. */
export const authErrors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 429: errorBody };

export const orgIdParam = z.string().regex(/^org_[A-Za-z0-9]{6,40}$/, 'must be an org id (org_...)');
export const orgParams = z.object({ org: orgIdParam });
export const roleSchema = z.enum(ORG_ROLES);

export const limitQuery = (def = 20) => z.coerce.number().int().min(1).max(100).default(def);
export const isoDate = z.iso.datetime({ offset: true });

/** Body of a mutation that takes nothing; rejects stray fields. */
export const emptyBody = z.object({}).strict().optional();

/**
 * For hot routes whose replies we build ourselves from typed values: plain JSON.stringify instead
 * of validating each reply against its zod schema (the schema still documents the route).
 */
export const plainJsonSerializer = () => (data: unknown) => JSON.stringify(data);
