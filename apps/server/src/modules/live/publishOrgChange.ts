import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.ts';
import { randomToken } from '../../ids.ts';

/** The one NOTIFY channel every server process listens on. */
export const ORG_CHANGES_CHANNEL = 'tollgate_org_changes';

/**
 * The org id of a change that concerns every org (a catalog push): no stream subscribes to it,
 * but process-wide caches (`subscribeAll`) drop everything they hold.
 */
export const ALL_ORGS = '*';

/** Postgres refuses NOTIFY payloads of 8000 bytes or more; stay well under it. */
export const MAX_PAYLOAD_BYTES = 7_500;

/** A change type doubles as the SSE `event:` name, so it must not contain newlines or spaces. */
const CHANGE_TYPE = /^[a-z][a-z0-9_.]{0,63}$/;

export interface OrgChange {
  /** What changed, e.g. `subscription.updated`, `invoice.paid`, `billing_state.updated`. */
  type: string;
  /** The changed object's id (ours or Stripe's). */
  id?: string;
  /** A compact summary for the dashboard (status, amounts). Never secrets: every member sees it. */
  data?: unknown;
}

/** What travels through NOTIFY and reaches each subscriber. */
export interface OrgChangeMessage {
  /** Unique per published change; the SSE `id:`. */
  id: string;
  org_id: string;
  type: string;
  object_id: string | null;
  data: unknown;
  /** Set when `data` was dropped to fit the NOTIFY limit: refetch the object. */
  truncated?: true;
}

/**
 * Announces a billing change to the org's live subscribers, in every server process.
 * Call it INSIDE the transaction that applied the change: `pg_notify` is transactional, so the
 * notification goes out only when that transaction commits and never for a rolled-back one
 * (Postgres and PGlite behave the same; test/liveUpdates.test.ts checks both). Delivery is
 * best effort — a process whose LISTEN connection is down misses it (subscribers get `resync`).
 */
export async function publishOrgChange(tx: Tx, orgId: string, change: OrgChange): Promise<void> {
  await tx.execute(sql`SELECT pg_notify(${ORG_CHANGES_CHANNEL}, ${encodeOrgChange(orgId, change)})`);
}

export function encodeOrgChange(orgId: string, change: OrgChange): string {
  if (!CHANGE_TYPE.test(change.type)) throw new Error(`invalid live change type: ${change.type}`);
  const message: OrgChangeMessage = {
    id: `chg_${randomToken(20)}`,
    org_id: orgId,
    type: change.type,
    object_id: change.id ?? null,
    data: change.data ?? null,
  };
  const json = JSON.stringify(message);
  if (Buffer.byteLength(json) <= MAX_PAYLOAD_BYTES) return json;
  const slim = JSON.stringify({ ...message, data: null, truncated: true } satisfies OrgChangeMessage);
  if (Buffer.byteLength(slim) > MAX_PAYLOAD_BYTES) throw new Error('live change id too long');
  return slim;
}

/**
 * Parses a NOTIFY payload: one change, or an array of changes (the credit ledger announces all
 * the orgs of one group-commit flush in one notification). Malformed entries — another writer on
 * the channel — are dropped.
 */
export function decodeOrgChanges(payload: string | undefined): OrgChangeMessage[] {
  if (!payload) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return [];
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return list.filter(isOrgChange);
}

function isOrgChange(m: unknown): m is OrgChangeMessage {
  if (!m || typeof m !== 'object') return false;
  const c = m as Partial<OrgChangeMessage>;
  if (typeof c.id !== 'string' || typeof c.org_id !== 'string' || typeof c.type !== 'string') return false;
  return CHANGE_TYPE.test(c.type) && !/[\r\n]/.test(c.id);
}
