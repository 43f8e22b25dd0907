/**
 * Webhook delivery: every stored event is POSTed as JSON to each enabled endpoint whose
 * `enabled_events` match, signed like Stripe. At least once, not ordered: failures (non-2xx,
 * timeout, connection error) are retried after `retryDelaysMs` (live Stripe: hours, up to
 * three days; tests compress it). Deliveries never block the API response that caused them.
 * Faults (drop, duplicate, delay, reorder) let tests exercise a consumer's robustness.
 */
import type Stripe from 'stripe';
import type { Emulator, WebhookTiming } from '../core/context.ts';
import type { EventRow } from '../core/events.ts';
import { Events } from '../core/events.ts';
import { randomAlphanumeric } from '../core/ids.ts';
import { defineTable } from '../core/store.ts';
import { signPayload } from './signature.ts';
import { post } from './transport.ts';

export const WebhookEndpoints = defineTable<Stripe.WebhookEndpoint, { secret: string }>({
  object: 'webhook_endpoint',
  prefix: 'we',
  name: 'webhook endpoint',
});

export interface DeliveryAttempt {
  /** Wall-clock ms. */
  at: number;
  status: number | null;
  error?: string;
  durationMs: number;
}

export interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  endpointId: string;
  url: string;
  status: 'pending' | 'succeeded' | 'failed' | 'dropped' | 'held';
  attempts: DeliveryAttempt[];
  /** Faults applied (`duplicate`, `delay`, `reorder`, `drop`). */
  faults: string[];
}

export interface WebhookFault {
  kind: 'drop' | 'duplicate' | 'delay' | 'reorder';
  /** How many deliveries it applies to (for reorder: how many to hold before releasing). */
  count: number;
  delayMs?: number;
  /** Only events whose type matches (exact or `prefix.*`). */
  eventType?: string;
}

interface ActiveFault extends WebhookFault {
  remaining: number;
}

export const DEFAULT_WEBHOOK_TIMING: WebhookTiming = {
  // Live Stripe retries for three days with growing gaps; this is the same shape, shorter.
  retryDelaysMs: [60_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 86_400_000],
  timeoutMs: 10_000,
};

const MAX_LOG = 10_000;

export function typeMatches(pattern: string, type: string): boolean {
  if (pattern === '*' || pattern === type) return true;
  return pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1));
}

export class WebhookDispatcher {
  deliveries: Delivery[] = [];
  timing: WebhookTiming;
  private ctx: Emulator;
  private faults: ActiveFault[] = [];
  private held: { delivery: Delivery; body: string; secret: string }[] = [];
  private heldTimer: NodeJS.Timeout | undefined;
  private timers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  private generation = 0;

  constructor(ctx: Emulator, timing: WebhookTiming) {
    this.ctx = ctx;
    this.timing = timing;
  }

  matchingEndpoints(type: string): Stripe.WebhookEndpoint[] {
    const out: Stripe.WebhookEndpoint[] = [];
    for (const endpoint of this.ctx.store.of(WebhookEndpoints).values()) {
      if (endpoint.status !== 'enabled') continue;
      if (endpoint.enabled_events.some((pattern) => typeMatches(pattern, type))) out.push(endpoint);
    }
    return out;
  }

  addFault(fault: WebhookFault): void {
    this.faults.push({ ...fault, remaining: fault.count });
  }

  clearFaults(): void {
    this.faults = [];
  }

  enqueue(event: EventRow): void {
    const endpoints = this.matchingEndpoints(event.type);
    if (endpoints.length === 0 || this.stopped) return;
    const body = JSON.stringify(event, null, 2);
    const table = this.ctx.store.of(WebhookEndpoints);
    for (const endpoint of endpoints) {
      const delivery: Delivery = {
        id: `whdel_${randomAlphanumeric(20)}`,
        eventId: event.id,
        eventType: event.type,
        endpointId: endpoint.id,
        url: endpoint.url,
        status: 'pending',
        attempts: [],
        faults: [],
      };
      this.log(delivery);
      const secret = table.meta(endpoint.id)?.secret ?? '';
      this.route(delivery, body, secret);
    }
  }

  private takeFault(type: string): ActiveFault | undefined {
    const fault = this.faults.find(
      (f) => f.remaining > 0 && (!f.eventType || typeMatches(f.eventType, type)),
    );
    if (fault) {
      fault.remaining--;
      if (fault.remaining === 0 && fault.kind !== 'reorder')
        this.faults = this.faults.filter((f) => f !== fault);
    }
    return fault;
  }

  private route(delivery: Delivery, body: string, secret: string): void {
    const fault = this.takeFault(delivery.eventType);
    if (fault) delivery.faults.push(fault.kind);
    switch (fault?.kind) {
      case 'drop':
        delivery.status = 'dropped';
        return;
      case 'duplicate':
        this.later(0, () => this.attempt(delivery, body, secret, 0));
        this.later(0, () => this.attempt(delivery, body, secret, 0));
        return;
      case 'delay':
        this.later(fault.delayMs ?? 1000, () => this.attempt(delivery, body, secret, 0));
        return;
      case 'reorder':
        delivery.status = 'held';
        this.held.push({ delivery, body, secret });
        if (fault.remaining === 0) {
          this.faults = this.faults.filter((f) => f !== fault);
          this.releaseHeld();
        } else if (!this.heldTimer) {
          // Do not hold forever if fewer events than announced arrive.
          this.heldTimer = setTimeout(() => this.releaseHeld(), fault.delayMs ?? 2000);
          this.heldTimer.unref();
        }
        return;
      default:
        this.later(0, () => this.attempt(delivery, body, secret, 0));
    }
  }

  private releaseHeld(): void {
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    const batch = this.held;
    this.held = [];
    const shuffled = [...batch];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    // A "reorder" that happens to keep the order would make tests flaky: reverse instead.
    if (shuffled.length > 1 && shuffled.every((item, i) => item === batch[i])) shuffled.reverse();
    // Staggered by a few ms so they also arrive in the shuffled order.
    shuffled.forEach((item, i) => {
      item.delivery.status = 'pending';
      this.later(i * 5, () => this.attempt(item.delivery, item.body, item.secret, 0));
    });
  }

  private later(ms: number, fn: () => Promise<void>): void {
    this.inFlight++;
    const generation = this.generation;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn().finally(() => this.done(generation));
    }, ms);
    // Pending retries must not keep a test process or a stopped emulator alive.
    timer.unref();
    this.timers.add(timer);
  }

  private done(generation: number): void {
    // A reset in between already zeroed the count for the old generation.
    if (generation !== this.generation) return;
    this.inFlight--;
    if (this.inFlight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async attempt(delivery: Delivery, body: string, secret: string, retryIndex: number): Promise<void> {
    if (this.stopped) return;
    const started = Date.now();
    const attempt: DeliveryAttempt = { at: started, status: null, durationMs: 0 };
    delivery.attempts.push(attempt);
    try {
      attempt.status = await post(delivery.url, body, signPayload(body, secret), this.timing.timeoutMs);
    } catch (err) {
      attempt.error = err instanceof Error ? err.message : String(err);
    }
    attempt.durationMs = Date.now() - started;
    if (attempt.status !== null && attempt.status >= 200 && attempt.status < 300) {
      if (delivery.status !== 'succeeded') {
        delivery.status = 'succeeded';
        const events = this.ctx.store.of(Events);
        const event = events.get(delivery.eventId);
        if (event && event.pending_webhooks > 0)
          events.update(event.id, { pending_webhooks: event.pending_webhooks - 1 });
      }
      return;
    }
    if (delivery.status === 'succeeded') return;
    const delay = this.timing.retryDelaysMs[retryIndex];
    if (delay === undefined || this.stopped) {
      delivery.status = 'failed';
      return;
    }
    this.later(delay, () => this.attempt(delivery, body, secret, retryIndex + 1));
  }

  private log(delivery: Delivery): void {
    this.deliveries.push(delivery);
    if (this.deliveries.length > MAX_LOG) this.deliveries.splice(0, this.deliveries.length - MAX_LOG);
  }

  /** Resolves when no delivery is in flight or waiting for a retry. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Forget the log, faults and pending retries (reset). */
  clear(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    this.held = [];
    this.faults = [];
    this.deliveries = [];
    this.inFlight = 0;
    this.generation++;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  stop(): void {
    this.stopped = true;
    this.clear();
  }
}
