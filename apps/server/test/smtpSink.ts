import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedEmail {
  /** Tollgate's outbox id (X-Tollgate-Email-Id). */
  id: string;
  from: string;
  to: string[];
  subject: string;
  raw: string;
}

/**
 * A real SMTP server on an ephemeral port that keeps every message it accepts. `failNext(n)`
 * answers the next n messages with a transient 451, as a mail server under load would.
 */
export async function startSmtpSink() {
  const received: ReceivedEmail[] = [];
  let failures = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (failures > 0) {
          failures--;
          const err = Object.assign(new Error('try again later'), { responseCode: 451 });
          return callback(err);
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        const header = (name: string) =>
          raw
            .match(new RegExp(`^${name}: ?(.*(?:\\r?\\n[ \\t].*)*)`, 'im'))?.[1]
            ?.replace(/\r?\n[ \t]/g, ' ') ?? '';
        received.push({
          id: header('X-Tollgate-Email-Id').trim(),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: header('Subject').trim(),
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    failNext(n: number) {
      failures = n;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
export type SmtpSink = Awaited<ReturnType<typeof startSmtpSink>>;
