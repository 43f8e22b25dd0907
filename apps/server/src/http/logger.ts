import pino, { type DestinationStream, type Logger } from 'pino';

/** Everything that could carry a credential is redacted before it reaches a log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["stripe-signature"]',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  // A headers object logged on its own (e.g. `{ headers: request.headers }`).
  '*.authorization',
  '*.cookie',
  '*["stripe-signature"]',
  '*["x-csrf-token"]',
  '*["set-cookie"]',
  '*.secret',
  '*.password',
  '*.token',
  '*.apiKey',
  '*.api_key',
  '*.client_secret',
];

/** Query parameters that carry credentials (the one-time dashboard sign-in link has `token=`). */
const SECRET_QUERY = /([?&](?:token|key|secret|api_key|client_secret)=)[^&#]*/gi;

export const redactUrl = (url: string) => url.replace(SECRET_QUERY, '$1[redacted]');

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * `destination` is for tests that read what would be logged. The `req` serializer replaces
 * Fastify's default only to redact credentials in the query string, which REDACT_PATHS cannot
 * reach (the URL is one string).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req: LoggedRequest) => ({
          method: req.method,
          url: req.url && redactUrl(req.url),
          host: req.host,
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        }),
      },
    },
    destination,
  );
}
