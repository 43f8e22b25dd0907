import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import type { Env } from '../../env.ts';

export interface OutgoingEmail {
  id: string;
  to: string[];
  subject: string;
  text: string;
  html: string | null;
}

export interface Mailer {
  /** Resolves with the message id once the transport accepted the message; throws otherwise. */
  send(email: OutgoingEmail): Promise<{ messageId: string }>;
}

/**
 * The transport chosen by EMAIL_TRANSPORT: `log` prints the email (the demo's default), `file`
 * writes an .eml file per email into EMAIL_DIR (open it in any mail client), `smtp` sends through
 * SMTP_URL with nodemailer. The outbox row's id is the Message-ID, so a receiver can dedupe the
 * rare resend after a crash between the SMTP server's acceptance and our status update.
 */
export function createMailer(env: Env, logger: Logger): Mailer {
  const messageId = (id: string) => `<${id}@tollgate>`;
  const message = (e: OutgoingEmail) => ({
    from: env.EMAIL_FROM,
    to: e.to,
    subject: e.subject,
    text: e.text,
    ...(e.html ? { html: e.html } : {}),
    messageId: messageId(e.id),
    headers: { 'X-Tollgate-Email-Id': e.id },
  });
  if (env.EMAIL_TRANSPORT === 'smtp') {
    // One pooled transport per process; nodemailer reconnects after a dropped connection.
    const transport = nodemailer.createTransport(env.SMTP_URL!);
    return {
      async send(e) {
        const info = await transport.sendMail(message(e));
        return { messageId: info.messageId ?? messageId(e.id) };
      },
    };
  }
  if (env.EMAIL_TRANSPORT === 'file') {
    const dir = resolve(env.EMAIL_DIR);
    const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
    return {
      async send(e) {
        const info = await transport.sendMail(message(e));
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, `${e.id}.eml`), info.message as Buffer);
        return { messageId: messageId(e.id) };
      },
    };
  }
  return {
    async send(e) {
      logger.info({ email: e.id, to: e.to, subject: e.subject }, `email (EMAIL_TRANSPORT=log)\n${e.text}`);
      return { messageId: messageId(e.id) };
    },
  };
}

const cache = new WeakMap<Env, Mailer>();
/** One mailer per configuration (per process in production), created on first use. */
export function mailerFor(env: Env, logger: Logger): Mailer {
  let m = cache.get(env);
  if (!m) {
    m = createMailer(env, logger);
    cache.set(env, m);
  }
  return m;
}
