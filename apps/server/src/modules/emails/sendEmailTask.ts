import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { emails } from '../../db/schema/index.ts';
import { withSystemTx } from '../../db/tx.ts';
import type { Deps } from '../../deps.ts';
import { defineTask, type JobContext } from '../../jobs/index.ts';
import { mailerFor } from './mailer.ts';

export const EMAIL_MAX_ATTEMPTS = 8;
/** 30 s, 1 min, 2, 4, … : eight attempts span about an hour, through a short SMTP outage. */
export const EMAIL_BACKOFF = { baseMs: 30_000, maxMs: 30 * 60_000 };

/**
 * Sends one outbox email. At least once: a crash after the SMTP server accepted the message but
 * before the row says `sent` sends it again on the retry (same Message-ID). A failure is retried
 * with backoff; after the last attempt the row is `failed`, with the error, for operators.
 */
export const sendEmailTask = defineTask({
  name: 'emails.send',
  payload: z.object({ emailId: z.string() }),
  maxAttempts: EMAIL_MAX_ATTEMPTS,
  backoff: EMAIL_BACKOFF,
  async run({ emailId }, ctx: JobContext<Deps>) {
    const [email] = await withSystemTx(ctx.database, (tx) =>
      tx.select().from(emails).where(eq(emails.id, emailId)),
    );
    if (email?.status !== 'pending') return;
    const mailer = mailerFor(ctx.deps.env, ctx.deps.logger);
    try {
      const { messageId } = await mailer.send({
        id: email.id,
        to: email.to,
        subject: email.subject,
        text: email.text,
        html: email.html,
      });
      await withSystemTx(ctx.database, (tx) =>
        tx
          .update(emails)
          .set({
            status: 'sent',
            attempts: email.attempts + 1,
            lastError: null,
            messageId,
            sentAt: ctx.clock.now(),
          })
          .where(eq(emails.id, emailId)),
      );
    } catch (err) {
      const last = ctx.job.attempt >= ctx.job.maxAttempts;
      const error = String((err as Error)?.message ?? err).slice(0, 1000);
      await withSystemTx(ctx.database, (tx) =>
        tx
          .update(emails)
          .set({ status: last ? 'failed' : 'pending', attempts: email.attempts + 1, lastError: error })
          .where(eq(emails.id, emailId)),
      );
      throw new Error(`email ${emailId}: ${error}`);
    }
  },
});
