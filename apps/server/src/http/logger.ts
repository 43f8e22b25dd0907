import pino, { type Logger } from 'pino';

/** Everything that could carry a credential is redacted before it reaches a log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["stripe-signature"]',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.secret',
  '*.password',
  '*.token',
  '*.apiKey',
  '*.api_key',
  '*.client_secret',
];

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}
