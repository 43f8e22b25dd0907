/**
 * The credits benchmark's load client as its own process:
 * `tsx client.ts <port> <orgs.json> <spread|hot|warm> <total> <c>`. POSTs consumptions over C
 * keep-alive connections (closed loop) and prints one JSON line with the result.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { closedLoop, summarize } from '../webhooks/load.ts';

const [port, orgsFile, mode, total, concurrency] = process.argv.slice(2);
const orgs = JSON.parse(readFileSync(orgsFile!, 'utf8')) as { id: string; key: string }[];
const c = Number(concurrency);
const agent = new http.Agent({ keepAlive: true, maxSockets: c, maxFreeSockets: c });
const run = randomBytes(4).toString('hex');
const statuses = new Map<number, number>();

const post = (org: { id: string; key: string }, body: string) =>
  new Promise<number>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: Number(port),
        path: `/v1/orgs/${org.id}/credits/consume`,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${org.key}`,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });

const r = await closedLoop(Number(total), c, 60_000, async (i) => {
  const org =
    mode === 'hot'
      ? orgs[0]!
      : mode === 'warm'
        ? orgs[i % orgs.length]!
        : orgs[Math.floor(Math.random() * orgs.length)]!;
  const status = await post(org, JSON.stringify({ event: 'api_call_basic', idempotency_key: `${run}-${i}` }));
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  return status === 200;
});
agent.destroy();
console.log(
  JSON.stringify({
    ok: r.ok,
    errors: r.errors,
    timedOut: r.timedOut,
    seconds: r.seconds,
    statuses: Object.fromEntries(statuses),
    ...summarize(r),
  }),
);
