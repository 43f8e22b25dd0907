/**
 * The measuring part of the emulator benchmark, importable by tests: run `total` simple
 * creates through the official SDK with `concurrency` requests in flight, stop early at
 * `timeLimitMs`, and report throughput and latency percentiles.
 */
import { performance } from 'node:perf_hooks';
import type Stripe from 'stripe';

export type CreateKind = 'customers.create' | 'products.create';

export interface MeasureOptions {
  stripe: Stripe;
  /** Requests to send in all (split evenly over `kinds`, round robin). */
  total: number;
  /** Requests in flight at once. */
  concurrency: number;
  kinds?: CreateKind[];
  /** Stop starting new requests after this long (the figure covers what completed). */
  timeLimitMs?: number;
}

export interface Measurement {
  /** Requests that completed successfully. */
  completed: number;
  errors: number;
  /** Wall time from the first request to the last response, in seconds. */
  seconds: number;
  /** Successful requests per second. */
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** True when the time limit stopped the run before `total` requests were sent. */
  timedOut: boolean;
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

function send(stripe: Stripe, kind: CreateKind, i: number): Promise<unknown> {
  if (kind === 'customers.create') {
    return stripe.customers.create({ email: `bench${i}@example.com`, metadata: { n: String(i) } });
  }
  return stripe.products.create({ name: `Bench product ${i}`, metadata: { n: String(i) } });
}

export async function measureCreates(options: MeasureOptions): Promise<Measurement> {
  const kinds = options.kinds ?? ['customers.create', 'products.create'];
  const limit = options.timeLimitMs ?? Number.POSITIVE_INFINITY;
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  let timedOut = false;
  const started = performance.now();

  const worker = async () => {
    for (;;) {
      if (next >= options.total) return;
      if (performance.now() - started > limit) {
        timedOut = true;
        return;
      }
      const i = next++;
      const t0 = performance.now();
      try {
        await send(options.stripe, kinds[i % kinds.length]!, i);
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    completed: latencies.length,
    errors,
    seconds,
    throughput: seconds > 0 ? latencies.length / seconds : 0,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.length ? latencies[latencies.length - 1]! : 0,
    timedOut,
  };
}
