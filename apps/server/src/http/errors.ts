/**
 * The one error model. Use-cases throw DomainError with a code from this closed set; the HTTP
 * layer maps the code to a status in exactly one place and renders
 * `{ error: { code, message, request_id, details } }`.
 */
export const ERROR_STATUS = {
  validation_failed: 400,
  bad_request: 400,
  unauthenticated: 401,
  card_declined: 402,
  payment_required: 402,
  insufficient_credits: 402,
  forbidden: 403,
  csrf_failed: 403,
  not_found: 404,
  conflict: 409,
  idempotency_conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  stripe_unavailable: 503,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FieldIssue {
  field: string;
  message: string;
  /** Where the field lives: body, query, path or header. */
  in?: string;
}

export class DomainError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'DomainError';
    this.status = ERROR_STATUS[code];
  }
}

export const notFound = (what: string) => new DomainError('not_found', `${what} not found`);
export const forbidden = (message = 'your role does not allow this action') =>
  new DomainError('forbidden', message);
export const unauthenticated = (message = 'missing or invalid credentials') =>
  new DomainError('unauthenticated', message);

/** A 400 naming every offending field, e.g. from a zod error or a hand-written check. */
export function validationFailed(issues: FieldIssue[]): DomainError {
  const first = issues[0];
  const message = first ? `${first.field}: ${first.message}` : 'invalid request';
  return new DomainError('validation_failed', message, { issues });
}
