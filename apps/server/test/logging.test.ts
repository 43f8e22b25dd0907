import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { createLogger, REDACT_PATHS } from '../src/http/logger.ts';
import type { App } from '../src/http/types.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, type TestApp } from './harness.ts';

/** A destination that keeps every log line, so tests read exactly what would be shipped. */
function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines, text: () => lines.join('\n'), json: () => lines.map((l) => JSON.parse(l)) };
}

const SECRET_HEADER = 'Bearer tg_sk_liveSecretLiveSecretLiveSecret0000';
const SECRET_COOKIE = 'tg_session=cookieSecretCookieSecretCookieSecret';

describe('log redaction', () => {
  it('REDACT_PATHS censors credentials in request and response headers, and nothing else', () => {
    const out = capture();
    const logger = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, out.stream);
    logger.info({
      req: {
        headers: {
          authorization: SECRET_HEADER,
          cookie: SECRET_COOKIE,
          'stripe-signature': 't=1,v1=abc',
          'x-csrf-token': 'csrfcsrf',
          'user-agent': 'curl/8',
        },
      },
      res: { headers: { 'set-cookie': SECRET_COOKIE } },
    });
    const [line] = out.json();
    expect(line.req.headers).toEqual({
      authorization: '[redacted]',
      cookie: '[redacted]',
      'stripe-signature': '[redacted]',
      'x-csrf-token': '[redacted]',
      'user-agent': 'curl/8',
    });
    expect(line.res.headers['set-cookie']).toBe('[redacted]');
  });

  it("createLogger censors a headers object and secrets in use-cases' log fields", () => {
    const out = capture();
    const logger = createLogger('info', out.stream);
    logger.warn(
      { headers: { authorization: SECRET_HEADER, cookie: SECRET_COOKIE, accept: 'application/json' } },
      'odd request',
    );
    logger.info({ key: { secret: 'tg_sk_xyz', prefix: 'tg_sk_xyz' }, session: { token: 'tok' } }, 'created');
    const [first, second] = out.json();
    expect(first.headers).toEqual({
      authorization: '[redacted]',
      cookie: '[redacted]',
      accept: 'application/json',
    });
    expect(second.key).toEqual({ secret: '[redacted]', prefix: 'tg_sk_xyz' });
    expect(second.session.token).toBe('[redacted]');
  });

  describe('the running app', () => {
    let t: TestApp;
    let a: TestOrg;
    let app: App;
    let url: string;
    const out = capture();

    beforeAll(async () => {
      t = await startTestApp();
      a = await createTestOrg(t, 'Alpha');
      // Same deps and wiring as production, with an info-level logger we can read.
      app = await buildApp(
        { ...t.deps, logger: createLogger('info', out.stream) },
        { dashboardDir: '/nonexistent' },
      );
      app.get('/explode', async () => {
        throw new Error('boom');
      });
      await app.listen({ host: '127.0.0.1', port: 0 });
      url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await app?.close();
      await t?.close();
    });

    it('never logs keys, tokens, cookies or sign-in link tokens', async () => {
      const link = await fetch(`${url}/v1/orgs/${a.id}/dashboard-sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: a.admin.userId }),
      }).then((r) => r.json() as Promise<{ url: string }>);
      const loginToken = new URL(link.url).searchParams.get('token')!;
      const signedIn = await fetch(`${url}/auth/dashboard?token=${loginToken}`, { redirect: 'manual' });
      const cookie = signedIn.headers.getSetCookie()[0]!.split(';')[0]!;
      await fetch(`${url}/v1/me`, { headers: { cookie } });
      await fetch(`${url}/v1/me`, { headers: { authorization: SECRET_HEADER, cookie: SECRET_COOKIE } });
      const boom = await fetch(`${url}/explode`, { headers: { authorization: `Bearer ${a.admin.jwt}` } });

      const text = out.text();
      // We did capture the real request log...
      expect(text).toContain(boom.headers.get('x-request-id')!);
      expect(text).toContain('/auth/dashboard?token=[redacted]');
      expect(out.json().some((l) => l.level === 50 && l.err?.message === 'boom')).toBe(true);
      // ...and no credential in it.
      for (const secret of [
        a.key,
        a.admin.jwt,
        loginToken,
        cookie.split('=')[1]!,
        'liveSecretLiveSecret',
        'cookieSecretCookie',
      ]) {
        expect(text).not.toContain(secret);
      }
    });
  });
});
