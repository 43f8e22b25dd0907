import { expect } from 'vitest';
import { TEST_ADMIN_KEY, type TestApp, type TestResponse } from './harness.ts';

export interface AuditEntryView {
  id: number;
  org_id: string | null;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  before: unknown;
  after: unknown;
  request_id: string | null;
  created_at: string;
}

/**
 * The audit entry a mutating response wrote, found through the operator API by the response's
 * `x-request-id` — so the test proves the entry carries the request id the caller saw.
 */
export async function auditEntryFor(t: TestApp, res: TestResponse, action: string): Promise<AuditEntryView> {
  const requestId = res.headers.get('x-request-id');
  expect(requestId, 'response has x-request-id').toBeTruthy();
  const log = await t.request('GET', `/v1/admin/audit-log?action=${encodeURIComponent(action)}&limit=100`, {
    token: TEST_ADMIN_KEY,
  });
  expect(log.status).toBe(200);
  const matches = (log.body.data as AuditEntryView[]).filter((e) => e.request_id === requestId);
  expect(matches, `one ${action} entry for request ${requestId}`).toHaveLength(1);
  return matches[0]!;
}
