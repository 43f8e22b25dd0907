/**
 * Load drivers for the webhook benchmark: N requests from C concurrent workers, each waiting for
 * its answer before sending the next (a closed loop), with per-request latency.
 */
import { performance } from 'node:perf_hooks';
import { type HttpLoadResult, httpLoad } from '../httpLoad.ts';
import type { SignedEvent } from './payloads.ts';

export interface RunResult {
  done: number;
  ok: number;
  errors: number;
  timedOut: boolean;
  seconds: number;
  /** Per-operation latencies in ms (requests, statements or batches). */
  latencies: number[];
}

export interface Summary {
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(r: RunResult, unitsPerOp = 1): Summary {
  const sorted = Float64Array.from(r.latencies).sort();
  const at = (q: number) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0;
  return {
    perSecond: (r.ok * unitsPerOp) / r.seconds,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : 0,
  };
}

/** Runs `op(i)` for i in [0, total) from `concurrency` workers; `op` resolves true on success. */
export async function closedLoop(
  total: number,
  concurrency: number,
  timeLimitMs: number,
  op: (i: number) => Promise<boolean>,
): Promise<RunResult> {
  let next = 0;
  let ok = 0;
  let errors = 0;
  let timedOut = false;
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + timeLimitMs;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      if (performance.now() > deadline) {
        timedOut = true;
        return;
      }
      const t0 = performance.now();
      let good = false;
      try {
        good = await op(i);
      } catch {
        good = false;
      }
      latencies.push(performance.now() - t0);
      if (good) ok++;
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { done: ok + errors, ok, errors, timedOut, seconds: (performance.now() - start) / 1000, latencies };
}

/** POSTs signed events to the webhook endpoint over `concurrency` keep-alive connections. */
export function postEvents(
  port: number,
  events: SignedEvent[],
  concurrency: number,
  timeLimitMs: number,
): Promise<HttpLoadResult> {
  return httpLoad({
    port,
    total: events.length,
    concurrency,
    timeLimitMs,
    request: (i) => ({
      method: 'POST',
      path: '/v1/webhooks/stripe',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'stripe-signature': events[i]!.signature,
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      },
      body: events[i]!.body,
    }),
  });
}
