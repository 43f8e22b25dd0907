/**
 * The entitlement benchmark's load client as its own process, so the server's event loop does
 * not also run the client: `tsx client.ts <port> <targets.json> <total> <concurrency>`.
 * Prints one JSON line with the result.
 */
import { readFileSync } from 'node:fs';
import { summarize } from '../webhooks/load.ts';
import { type CheckTarget, getChecks } from './load.ts';

const [port, file, total, concurrency] = process.argv.slice(2);
const targets = JSON.parse(readFileSync(file!, 'utf8')) as CheckTarget[];
const r = await getChecks(Number(port), targets, Number(total), Number(concurrency), 60_000);
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
