/**
 * API fault injection (control API `POST /_emulator/faults`): the next `count` requests
 * matching method + path fail in a chosen way, so a client's retry and idempotency logic can
 * be tested against the behaviours Stripe documents.
 *
 *  - `error`: 500 `api_error` (Stripe-Should-Retry: true unless `shouldRetry: false`)
 *  - `lock_timeout`: 429 code `lock_timeout` (Stripe-Should-Retry: true)
 *  - `rate_limit`: 429 code `rate_limit`
 *  - `delay`: answer normally after `delayMs`
 *  - `drop`: destroy the socket without answering
 *
 * `phase: 'after'` runs the request first (state changes and the idempotent result are kept)
 * and then fails the response — the case where only idempotency prevents a duplicate.
 * Defaults: `before` for all kinds except `drop`, which defaults to `after`.
 */
import { StripeApiError } from './errors.ts';

export type FaultKind = 'error' | 'lock_timeout' | 'rate_limit' | 'delay' | 'drop';

export interface ApiFaultSpec {
  kind: FaultKind;
  /** HTTP method to match; any when absent. */
  method?: string;
  /** Path prefix to match, e.g. '/v1/customers'. */
  path?: string;
  /** Regular expression (source) matched against the path instead of a prefix. */
  pathRegex?: string;
  /** How many matching requests fail (default 1). */
  count?: number;
  phase?: 'before' | 'after';
  delayMs?: number;
  shouldRetry?: boolean;
}

export interface ApiFault extends ApiFaultSpec {
  id: number;
  remaining: number;
  regex?: RegExp;
}

export class FaultList {
  private faults: ApiFault[] = [];
  private nextId = 1;

  add(spec: ApiFaultSpec): ApiFault {
    const fault: ApiFault = {
      ...spec,
      id: this.nextId++,
      remaining: spec.count ?? 1,
      regex: spec.pathRegex ? new RegExp(spec.pathRegex) : undefined,
    };
    this.faults.push(fault);
    return fault;
  }

  list(): ApiFault[] {
    return this.faults;
  }

  clear(): void {
    this.faults = [];
  }

  /** Consume and return the first fault matching this request, if any. */
  take(method: string, path: string): ApiFault | undefined {
    if (this.faults.length === 0) return undefined;
    const fault = this.faults.find(
      (f) =>
        (!f.method || f.method.toUpperCase() === method) &&
        (f.regex ? f.regex.test(path) : !f.path || path.startsWith(f.path)),
    );
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    return fault;
  }
}

export function phaseOf(fault: ApiFault): 'before' | 'after' {
  return fault.phase ?? (fault.kind === 'drop' ? 'after' : 'before');
}

/** The error response for error-type faults (null for delay/drop). */
export function faultError(fault: ApiFault): StripeApiError | null {
  switch (fault.kind) {
    case 'error':
      return new StripeApiError({
        status: 500,
        type: 'api_error',
        message: 'An unknown error occurred',
        headers: { 'Stripe-Should-Retry': String(fault.shouldRetry ?? true) },
      });
    case 'lock_timeout':
      return new StripeApiError({
        status: 429,
        type: 'invalid_request_error',
        code: 'lock_timeout',
        message:
          'This object cannot be accessed right now because another API request or Stripe process is currently accessing it. If you see this error intermittently, retry the request. If you see this error frequently and are making multiple concurrent requests to a single object, make your requests serially or at a lower rate.',
        headers: { 'Stripe-Should-Retry': String(fault.shouldRetry ?? true) },
      });
    case 'rate_limit':
      return new StripeApiError({
        status: 429,
        type: 'invalid_request_error',
        code: 'rate_limit',
        message:
          'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
        headers: fault.shouldRetry === undefined ? {} : { 'Stripe-Should-Retry': String(fault.shouldRetry) },
      });
    default:
      return null;
  }
}
