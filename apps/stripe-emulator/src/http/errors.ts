/**
 * The one error type handlers throw. The HTTP layer renders it as Stripe's error envelope
 * `{ error: { type, code, message, param, decline_code, doc_url, request_log_url } }`.
 */
export type StripeErrorType =
  | 'api_error'
  | 'card_error'
  | 'idempotency_error'
  | 'invalid_request_error'
  | 'authentication_error';

export interface StripeErrorFields {
  status: number;
  type: StripeErrorType;
  message: string;
  code?: string;
  param?: string;
  decline_code?: string;
  /** Extra members of the error object (payment_intent, setup_intent, payment_method, charge). */
  extra?: Record<string, unknown>;
  /** Extra response headers (e.g. Stripe-Should-Retry). */
  headers?: Record<string, string>;
}

export class StripeApiError extends Error {
  readonly fields: StripeErrorFields;
  constructor(fields: StripeErrorFields) {
    super(fields.message);
    this.fields = fields;
  }
}

export function errorBody(fields: StripeErrorFields, requestId: string): { error: Record<string, unknown> } {
  const error: Record<string, unknown> = { type: fields.type, message: fields.message };
  if (fields.code) {
    error.code = fields.code;
    error.doc_url = `https://stripe.com/docs/error-codes/${fields.code.replace(/_/g, '-')}`;
  }
  if (fields.param !== undefined) error.param = fields.param;
  if (fields.decline_code) error.decline_code = fields.decline_code;
  error.request_log_url = `https://dashboard.stripe.com/test/logs/${requestId}`;
  if (fields.extra) Object.assign(error, fields.extra);
  return { error };
}

export function invalidRequest(message: string, param?: string, code?: string): StripeApiError {
  return new StripeApiError({ status: 400, type: 'invalid_request_error', message, param, code });
}

/** 404 `resource_missing`: "No such customer: 'cus_x'". `param` is "id" for path ids. */
export function resourceMissing(objectName: string, id: string, param = 'id'): StripeApiError {
  return new StripeApiError({
    status: 404,
    type: 'invalid_request_error',
    code: 'resource_missing',
    message: `No such ${objectName}: '${id}'`,
    param,
  });
}

export function parameterUnknown(param: string): StripeApiError {
  return invalidRequest(`Received unknown parameter: ${param}`, param, 'parameter_unknown');
}

export function parameterMissing(param: string): StripeApiError {
  return invalidRequest(`Missing required param: ${param}.`, param, 'parameter_missing');
}

export function parameterInvalid(
  message: string,
  param: string,
  code = 'parameter_invalid_string',
): StripeApiError {
  return invalidRequest(message, param, code);
}

/** A state-machine violation, e.g. capturing a PaymentIntent that is not requires_capture. */
export function unexpectedState(message: string, extra?: Record<string, unknown>): StripeApiError {
  return new StripeApiError({
    status: 400,
    type: 'invalid_request_error',
    code: 'payment_intent_unexpected_state',
    message,
    extra,
  });
}
