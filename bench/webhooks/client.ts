/**
 * The webhook benchmark's load client as its own process (`BENCH_CLIENT=process`), so the
 * server's event loop does not also run the client: `tsx client.ts <port> <secret> <total> <c>`.
 * Builds and signs its events first (untimed), posts them, prints one JSON line with the result.
 */
import { postEvents, summarize } from './load.ts';
import { buildSignedEvents } from './payloads.ts';

const [port, secret, total, concurrency] = process.argv.slice(2);
const events = buildSignedEvents(Number(total), secret!);
const r = await postEvents(Number(port), events, Number(concurrency), 60_000);
const s = summarize(r);
console.log(
  JSON.stringify({
    ok: r.ok,
    errors: r.errors,
    timedOut: r.timedOut,
    seconds: r.seconds,
    statuses: Object.fromEntries(r.statuses),
    ...s,
  }),
);
