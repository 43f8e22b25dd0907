import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { DomainError, type FieldIssue, validationFailed } from './errors.ts';

const PART_NAMES: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'header',
};

function zodIssues(err: FastifyError): FieldIssue[] {
  const part = PART_NAMES[(err as { validationContext?: string }).validationContext ?? 'body'] ?? 'body';
  return (err.validation ?? []).flatMap((v) => {
    // instancePath is "/a/0/b" (zod issue path); an empty path means the whole part was wrong.
    const path = (v.instancePath ?? '').split('/').filter(Boolean);
    // A stray field is named itself, not its parent object ("colour", not "body").
    const keys =
      v.keyword === 'unrecognized_keys'
        ? ((v.params as { keys?: unknown }).keys as string[] | undefined)
        : undefined;
    if (keys?.length)
      return keys.map((k) => ({
        field: [...path, k].join('.'),
        message: v.message ?? 'unknown field',
        in: part,
      }));
    const field = path.length ? path.join('.') : part;
    return [{ field, message: v.message ?? 'invalid', in: part } satisfies FieldIssue];
  });
}

export function toDomainError(err: unknown): DomainError | null {
  if (err instanceof DomainError) return err;
  const e = err as FastifyError;
  if (hasZodFastifySchemaValidationErrors(e)) return validationFailed(zodIssues(e));
  if (e?.validation) return validationFailed(zodIssues(e));
  switch (e?.code) {
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return validationFailed([{ field: 'body', message: 'body is not valid JSON' }]);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new DomainError('payload_too_large', 'request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new DomainError('unsupported_media_type', 'send application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new DomainError('bad_request', 'invalid Content-Length');
  }
  if (typeof e?.statusCode === 'number' && e.statusCode === 429) {
    return new DomainError('rate_limited', e.message || 'rate limit exceeded');
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new DomainError('bad_request', e.message);
  }
  return null;
}

export function sendError(reply: FastifyReply, request: FastifyRequest, err: DomainError) {
  if (err.headers) reply.headers(err.headers);
  return reply.code(err.status).send({
    error: { code: err.code, message: err.message, request_id: request.id, details: err.details ?? {} },
  });
}

export function installErrorHandler(app: FastifyInstance) {
  app.setErrorHandler((err, request, reply) => {
    const domain = toDomainError(err);
    if (domain) {
      if (domain.status >= 500) request.log.error({ err }, domain.message);
      return sendError(reply, request, domain);
    }
    // Unknown errors: log everything, leak nothing.
    if (isResponseSerializationError(err))
      request.log.error({ err, issues: err.cause.issues }, 'response schema mismatch');
    else request.log.error({ err }, 'unhandled error');
    return sendError(reply, request, new DomainError('internal', 'internal error'));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      request,
      new DomainError('not_found', `route ${request.method} ${request.url.split('?')[0]} not found`),
    ),
  );
}
