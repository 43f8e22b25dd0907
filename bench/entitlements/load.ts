/**
 * HTTP load for the entitlement benchmark: GETs of `/v1/orgs/{org}/entitlements/{feature}` with
 * each org's secret key, from C keep-alive connections in a closed loop (bench/webhooks/load.ts).
 */
import http from 'node:http';
import { closedLoop, type RunResult } from '../webhooks/load.ts';

export interface CheckTarget {
  path: string;
  key: string;
}

export async function getChecks(
  port: number,
  targets: CheckTarget[],
  total: number,
  concurrency: number,
  timeLimitMs: number,
): Promise<RunResult & { statuses: Map<number, number> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const statuses = new Map<number, number>();
  const headers = targets.map((t) => ({ authorization: `Bearer ${t.key}`, accept: 'application/json' }));
  const get = (i: number) =>
    new Promise<number>((resolve, reject) => {
      const n = i % targets.length;
      const req = http.request(
        { host: '127.0.0.1', port, path: targets[n]!.path, method: 'GET', agent, headers: headers[n] },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  const r = await closedLoop(total, concurrency, timeLimitMs, async (i) => {
    const status = await get(i);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    return status === 200;
  });
  agent.destroy();
  return { ...r, statuses };
}
