/**
 * Emulator throughput: `npm run bench -- emulator`.
 *
 * Starts the Stripe emulator in this process and sends simple creates (customers.create and
 * products.create, alternating) through the official `stripe` SDK over HTTP, 32 in flight,
 * 20,000 requests after a 1,000-request warm-up, bounded at 60 s. Prints throughput and
 * p50/p99 latency. Client and server share the process (and the machine's cores), so the
 * figure is a floor for what a separate client would see.
 */
import { cpus } from 'node:os';
import Stripe from 'stripe';
import { startEmulator } from '../../apps/stripe-emulator/src/index.ts';
import { measureCreates } from './measure.ts';

const TOTAL = Number(process.env.BENCH_TOTAL ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const TIME_LIMIT_MS = 60_000;
const TARGET = 1_000;

const emulator = await startEmulator({ log: () => {} });
const stripe = new Stripe('sk_test_bench', {
  host: emulator.host,
  port: emulator.port,
  protocol: 'http',
  maxNetworkRetries: 0,
});

console.log(
  `emulator ${emulator.url}; stripe SDK ${Stripe.PACKAGE_VERSION} in the same process; ${cpus().length} cores; node ${process.version}`,
);
await measureCreates({ stripe, total: 1_000, concurrency: CONCURRENCY });
const m = await measureCreates({
  stripe,
  total: TOTAL,
  concurrency: CONCURRENCY,
  timeLimitMs: TIME_LIMIT_MS,
});
await emulator.stop();

const line = (label: string, value: string) => console.log(`  ${label.padEnd(14)} ${value}`);
console.log(`customers.create + products.create, ${CONCURRENCY} in flight, ${TOTAL} requests:`);
line('completed', `${m.completed}${m.timedOut ? ' (stopped at the time limit)' : ''}, errors ${m.errors}`);
line('elapsed', `${m.seconds.toFixed(2)} s`);
line('throughput', `${Math.round(m.throughput)} creates/s (target >= ${TARGET})`);
line('latency p50', `${m.p50Ms.toFixed(2)} ms`);
line('latency p99', `${m.p99Ms.toFixed(2)} ms`);
line('latency max', `${m.maxMs.toFixed(2)} ms`);
if (m.errors > 0 || m.throughput < TARGET) process.exitCode = 1;
