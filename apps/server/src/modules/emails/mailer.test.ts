import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEnv } from '../../env.ts';
import { createMailer } from './mailer.ts';
import { renderEmail } from './templates.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const email = {
  id: 'eml_0123456789abcdef01234567',
  to: ['billing@acme.test'],
  ...renderEmail('payment_recovered', {
    orgName: 'Acme',
    invoice: 'INV-7',
    amountPaid: 123456,
    currency: 'eur',
  }),
};

describe('email transports', () => {
  it('file: one .eml per email in EMAIL_DIR, readable by any mail client', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-mail-'));
    dirs.push(dir);
    const env = loadEnv({
      EMAIL_TRANSPORT: 'file',
      EMAIL_DIR: dir,
      EMAIL_FROM: 'Billing <billing@saas.test>',
    });
    const { messageId } = await createMailer(env, pino({ level: 'silent' })).send(email);
    expect(messageId).toBe(`<${email.id}@tollgate>`);
    expect(await readdir(dir)).toEqual([`${email.id}.eml`]);
    const eml = await readFile(join(dir, `${email.id}.eml`), 'utf8');
    expect(eml).toMatch(/^From: Billing <billing@saas\.test>$/m);
    expect(eml).toMatch(/^To: billing@acme\.test$/m);
    expect(eml).toMatch(/^Subject: Payment received for Acme$/m);
    expect(eml).toMatch(/^Message-ID: <eml_0123456789abcdef01234567@tollgate>$/im);
    expect(eml).toContain('multipart/alternative');
    expect(eml).toContain('1,234.56 for invoice INV-7');
  });

  it('log: the email is printed with its text', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
    await createMailer(loadEnv({}), logger).send(email);
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({
      email: email.id,
      to: ['billing@acme.test'],
      subject: 'Payment received for Acme',
    });
    expect(entry.msg).toContain('Thank you: €1,234.56 for invoice INV-7 was paid');
  });
});
