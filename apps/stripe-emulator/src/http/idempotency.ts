/**
 * Idempotency keys. The first response for a key (status and body, errors included) is
 * replayed for 24 h (wall time); the same key with other parameters is an
 * `idempotency_error`; the same key while the first request still runs is a 409.
 * Like Stripe, nothing is saved when the request never started executing (parameter
 * validation failed, a conflict, an injected fault before processing).
 */
import { StripeApiError } from './errors.ts';

interface Entry {
  fingerprint: string;
  state: 'running' | 'done';
  status: number;
  body: string;
  requestId: string;
  createdAt: number;
}

const TTL_MS = 24 * 3600 * 1000;
// Bounded so a long benchmark or demo cannot grow memory without limit (oldest go first).
const MAX_ENTRIES = 100_000;

export type Begin = { kind: 'new' } | { kind: 'replay'; status: number; body: string; requestId: string };

export class IdempotencyCache {
  private entries = new Map<string, Entry>();

  /** Throws for conflicts; otherwise says whether to run the request or replay. */
  begin(key: string, fingerprint: string, requestId: string): Begin {
    const existing = this.entries.get(key);
    if (existing && Date.now() - existing.createdAt > TTL_MS) this.entries.delete(key);
    else if (existing) {
      if (existing.fingerprint !== fingerprint) {
        throw new StripeApiError({
          status: 400,
          type: 'idempotency_error',
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        });
      }
      if (existing.state === 'running') {
        throw new StripeApiError({
          status: 409,
          type: 'idempotency_error',
          code: 'idempotency_key_in_use',
          message: `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
        });
      }
      return { kind: 'replay', status: existing.status, body: existing.body, requestId: existing.requestId };
    }
    this.entries.set(key, {
      fingerprint,
      state: 'running',
      status: 0,
      body: '',
      requestId,
      createdAt: Date.now(),
    });
    if (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return { kind: 'new' };
  }

  complete(key: string, status: number, body: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.state = 'done';
    entry.status = status;
    entry.body = body;
  }

  /** The request never executed: forget the key so a retry runs it. */
  abandon(key: string): void {
    const entry = this.entries.get(key);
    if (entry?.state === 'running') this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
