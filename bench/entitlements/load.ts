/**
 * HTTP load for the entitlement benchmark: GETs of `/v1/orgs/{org}/entitlements/{feature}` with
 * each org's secret key, from C keep-alive connections in a closed loop (bench/httpLoad.ts).
 */
import { type HttpLoadResult, httpLoad } from '../httpLoad.ts';

export interface CheckTarget {
  path: string;
  key: string;
}

export function getChecks(
  port: number,
  targets: CheckTarget[],
  total: number,
  concurrency: number,
  timeLimitMs: number,
): Promise<HttpLoadResult> {
  const headers = targets.map((t) => ({ authorization: `Bearer ${t.key}`, accept: 'application/json' }));
  return httpLoad({
    port,
    total,
    concurrency,
    timeLimitMs,
    request: (i) => {
      const n = i % targets.length;
      return { method: 'GET', path: targets[n]!.path, headers: headers[n] };
    },
    ok: (status) => status === 200,
  });
}
