/**
 * The credits benchmark's load client as its own process:
 * `tsx client.ts <port> <orgs.json> <spread|hot|warm> <total> <c>`. POSTs consumptions over C
 * keep-alive connections (closed loop, bench/httpLoad.ts) and prints one JSON line with the result.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { httpLoad } from '../httpLoad.ts';
import { summarize } from '../webhooks/load.ts';

const [port, orgsFile, mode, total, concurrency] = process.argv.slice(2);
const orgs = JSON.parse(readFileSync(orgsFile!, 'utf8')) as { id: string; key: string }[];
const run = randomBytes(4).toString('hex');

const r = await httpLoad({
  port: Number(port),
  total: Number(total),
  concurrency: Number(concurrency),
  timeLimitMs: 60_000,
  request: (i) => {
    const org =
      mode === 'hot'
        ? orgs[0]!
        : mode === 'warm'
          ? orgs[i % orgs.length]!
          : orgs[Math.floor(Math.random() * orgs.length)]!;
    return {
      method: 'POST',
      path: `/v1/orgs/${org.id}/credits/consume`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${org.key}` },
      body: JSON.stringify({ event: 'api_call_basic', idempotency_key: `${run}-${i}` }),
    };
  },
  ok: (status) => status === 200,
});
console.log(
  JSON.stringify({
    ok: r.ok,
    errors: r.errors,
    timedOut: r.timedOut,
    seconds: r.seconds,
    statuses: Object.fromEntries(r.statuses),
    ...summarize(r),
  }),
);
