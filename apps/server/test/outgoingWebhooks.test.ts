import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyTollgateSignature } from '@tollgate/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withOrgTx, withSystemTx } from '../src/db/tx.ts';
import { DELIVERY_MAX_ATTEMPTS } from '../src/modules/outgoing-webhooks/deliverWebhookTask.ts';
import { emitOutgoing, type OutgoingEvent } from '../src/modules/outgoing-webhooks/emitOutgoing.ts';
import { recordSideEffect } from '../src/modules/outgoing-webhooks/recordSideEffect.ts';
import { auditEntryFor } from './auditTrail.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from './harness.ts';

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A real HTTP receiver; `answer` decides each response's status per path. */
let receiver: Server;
let receiverUrl: string;
let received: Received[] = [];
let answer: (path: string) => number = () => 200;

let t: TestApp;
let a: TestOrg;
let b: TestOrg;
let seq = 0;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = answer(path);
      res.end(res.statusCode < 300 ? 'ok' : 'receiver says no');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  t = await startTestApp();
  a = await createTestOrg(t, 'Alpha');
  b = await createTestOrg(t, 'Beta');
});
afterAll(async () => {
  await t.close();
  await new Promise((resolve) => receiver.close(resolve));
});
// Endpoints are platform-wide: each test starts without any.
afterEach(async () => {
  received = [];
  answer = () => 200;
  const list = await asOperator('GET', '/v1/admin/webhook-endpoints');
  for (const e of list.body.data) await asOperator('DELETE', `/v1/admin/webhook-endpoints/${e.id}`);
});

const asOperator = (method: string, path: string, body?: unknown) =>
  t.request(method, path, { token: TEST_ADMIN_KEY, body });

async function endpoint(path: string, events: string[], orgId?: string) {
  const res = await asOperator('POST', '/v1/admin/webhook-endpoints', {
    url: `${receiverUrl}${path}`,
    events,
    ...(orgId ? { org_id: orgId } : {}),
  });
  expect(res.status).toBe(201);
  return res.body as { id: string; secret: string };
}

const emit = (e: Omit<OutgoingEvent, 'causeKey'> & { causeKey?: string }) =>
  withSystemTx(t.deps.database, (tx) => emitOutgoing(tx, { causeKey: `test:${++seq}`, ...e }));

const deliveries = async (query = '') =>
  (await asOperator('GET', `/v1/admin/webhook-deliveries?${query}`)).body;
const nowSec = () => t.deps.clock.nowMs() / 1000;
const header = (r: Received, name: string) => r.headers[name] as string;

describe('outgoing webhooks', () => {
  it('an emitted event arrives once, signed; a tampered body or another secret fails verification', async () => {
    const ep = await endpoint('/hooks', ['payment.failed']);
    const other = await endpoint('/other', ['invoice.paid']);
    expect(ep.secret).toMatch(/^tgwhsec_/);

    // From a tenant transaction (role tollgate_app): the helpers switch role for their own rows.
    const emitted = await withOrgTx(t.deps.database, a.id, (tx) =>
      emitOutgoing(tx, {
        orgId: a.id,
        type: 'payment.failed',
        data: { invoice_id: 'in_123', reason: 'card_declined' },
        causeKey: 'evt_failed_1',
      }),
    );
    expect(emitted?.deliveryIds).toHaveLength(1);
    expect(await t.runJobs()).toBe(1);
    expect(await t.runJobs()).toBe(0);

    expect(received).toHaveLength(1);
    const [r] = received as [Received];
    expect(r.path).toBe('/hooks');
    const body = JSON.parse(r.body);
    expect(body).toEqual({
      id: emitted!.eventId,
      type: 'payment.failed',
      created: expect.any(Number),
      org_id: a.id,
      data: { invoice_id: 'in_123', reason: 'card_declined' },
    });
    expect(header(r, 'tollgate-event-id')).toBe(emitted!.eventId);
    expect(header(r, 'tollgate-event-type')).toBe('payment.failed');
    expect(header(r, 'user-agent')).toMatch(/^Tollgate-Webhooks/);
    const sig = header(r, 'tollgate-signature');
    expect(sig).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyTollgateSignature(ep.secret, sig, r.body, 300, nowSec())).toBe(true);
    expect(verifyTollgateSignature(ep.secret, sig, r.body.replace('in_123', 'in_999'), 300, nowSec())).toBe(
      false,
    );
    expect(verifyTollgateSignature(other.secret, sig, r.body, 300, nowSec())).toBe(false);
    // Replay protection: the same request 10 minutes later is refused.
    expect(verifyTollgateSignature(ep.secret, sig, r.body, 300, nowSec() + 600)).toBe(false);

    const log = await deliveries(`endpoint_id=${ep.id}`);
    expect(log.data).toEqual([
      expect.objectContaining({
        event_id: emitted!.eventId,
        event_type: 'payment.failed',
        org_id: a.id,
        status: 'delivered',
        attempts: 1,
        last_status_code: 200,
        delivered_at: expect.any(String),
      }),
    ]);
    expect((await deliveries(`endpoint_id=${other.id}`)).data).toEqual([]);
  });

  it('the same cause emits once, however often it is replayed', async () => {
    await endpoint('/hooks', ['*']);
    const first = await emit({ orgId: a.id, type: 'invoice.paid', data: { n: 1 }, causeKey: 'evt_paid_1' });
    const again = await emit({ orgId: a.id, type: 'invoice.paid', data: { n: 2 }, causeKey: 'evt_paid_1' });
    expect(first).not.toBeNull();
    expect(again).toBeNull();
    await t.runJobs();
    expect(received.map((r) => JSON.parse(r.body).data)).toEqual([{ n: 1 }]);
    expect(
      (await deliveries('event_type=invoice.paid')).data.filter(
        (d: { event_id: string }) => d.event_id === first!.eventId,
      ),
    ).toHaveLength(1);

    // Concurrent replays of one cause (parallel transactions on Postgres): one wins.
    const racing = await Promise.all(
      Array.from({ length: 5 }, () =>
        emit({ orgId: b.id, type: 'invoice.paid', data: { n: 3 }, causeKey: 'evt_paid_race' }).catch(
          (e) => e,
        ),
      ),
    );
    expect(racing.filter((r) => r !== null && !(r instanceof Error))).toHaveLength(1);
    expect(racing.filter((r) => r instanceof Error)).toEqual([]);
    await t.runJobs();
    expect(received.map((r) => JSON.parse(r.body).data)).toEqual([{ n: 1 }, { n: 3 }]);

    // The claim itself, as other modules use it for their own effects.
    const claims = await withSystemTx(t.deps.database, async (tx) => [
      await recordSideEffect(tx, { key: 'credits.grant:in_1', orgId: a.id, kind: 'credit_grant' }),
      await recordSideEffect(tx, { key: 'credits.grant:in_1', orgId: a.id, kind: 'credit_grant' }),
    ]);
    expect(claims).toEqual([true, false]);
    // A rolled-back claim does not count.
    await expect(
      withOrgTx(t.deps.database, a.id, async (tx) => {
        expect(await recordSideEffect(tx, { key: 'email:rolled_back', orgId: a.id, kind: 'email' })).toBe(
          true,
        );
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(
      await withOrgTx(t.deps.database, a.id, (tx) =>
        recordSideEffect(tx, { key: 'email:rolled_back', orgId: a.id, kind: 'email' }),
      ),
    ).toBe(true);
  });

  it("an org's endpoint hears only that org's events; a global one hears all", async () => {
    const onlyB = await endpoint('/b', ['subscription.updated'], b.id);
    const global = await endpoint('/all', ['subscription.updated']);
    await emit({ orgId: a.id, type: 'subscription.updated', data: { org: 'a' } });
    await emit({ orgId: b.id, type: 'subscription.updated', data: { org: 'b' } });
    await t.runJobs();
    const seen = (path: string) =>
      received.filter((r) => r.path === path).map((r) => JSON.parse(r.body).data.org);
    expect(seen('/b')).toEqual(['b']);
    expect(seen('/all').sort()).toEqual(['a', 'b']);
    expect((await deliveries(`endpoint_id=${onlyB.id}`)).data).toHaveLength(1);
    expect((await deliveries(`endpoint_id=${global.id}`)).data).toHaveLength(2);
  });

  it('a failing receiver is retried with backoff until it answers 2xx', async () => {
    const ep = await endpoint('/flaky', ['payment.recovered']);
    let calls = 0;
    answer = () => (++calls <= 2 ? 500 : 200);
    await emit({ orgId: a.id, type: 'payment.recovered', data: {} });

    expect(await t.runJobs()).toBe(1);
    let [d] = (await deliveries(`endpoint_id=${ep.id}`)).data;
    expect(d).toMatchObject({ status: 'failed', attempts: 1, last_status_code: 500 });
    expect(d.last_error).toContain('receiver says no');
    // Not due yet: the first retry waits a minute.
    expect(await t.runJobs()).toBe(0);
    t.deps.clock.advance(61_000);
    expect(await t.runJobs()).toBe(1);
    expect(await t.runJobs()).toBe(0);
    t.deps.clock.advance(121_000);
    expect(await t.runJobs()).toBe(1);

    [d] = (await deliveries(`endpoint_id=${ep.id}`)).data;
    expect(d).toMatchObject({ status: 'delivered', attempts: 3, last_status_code: 200, last_error: null });
    expect(received).toHaveLength(3);
    // Every attempt is the same event, freshly signed.
    expect(new Set(received.map((r) => header(r, 'tollgate-event-id'))).size).toBe(1);
    for (const r of received)
      expect(verifyTollgateSignature(ep.secret, header(r, 'tollgate-signature'), r.body, 300, nowSec())).toBe(
        true,
      );
  });

  it('a receiver that never succeeds makes the delivery dead; a manual redelivery sends it once fixed', async () => {
    const ep = await endpoint('/down', ['credits.low']);
    answer = () => 503;
    await emit({ orgId: b.id, type: 'credits.low', data: { balance: 3 } });
    for (let i = 0; i < DELIVERY_MAX_ATTEMPTS + 2; i++) {
      await t.runJobs();
      t.deps.clock.advance(13 * 3_600_000);
    }
    expect(received).toHaveLength(DELIVERY_MAX_ATTEMPTS);
    const dead = await deliveries('status=dead');
    const [d] = dead.data.filter((x: { endpoint_id: string }) => x.endpoint_id === ep.id);
    expect(d).toMatchObject({ status: 'dead', attempts: DELIVERY_MAX_ATTEMPTS, last_status_code: 503 });

    answer = () => 200;
    const res = await asOperator('POST', `/v1/admin/webhook-deliveries/${d.id}/redeliver`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: d.id, status: 'pending' });
    // A double click before the attempt runs enqueues it once.
    expect((await asOperator('POST', `/v1/admin/webhook-deliveries/${d.id}/redeliver`)).status).toBe(202);
    expect(await t.runJobs()).toBe(1);
    const [after] = (await deliveries(`endpoint_id=${ep.id}`)).data;
    expect(after).toMatchObject({
      status: 'delivered',
      attempts: DELIVERY_MAX_ATTEMPTS + 1,
      last_status_code: 200,
    });
    expect(received).toHaveLength(DELIVERY_MAX_ATTEMPTS + 1);
    await auditEntryFor(t, res, 'webhook_delivery.redelivered');

    // A delivered one can be sent again on request too (the host lost it).
    expect((await asOperator('POST', `/v1/admin/webhook-deliveries/${d.id}/redeliver`)).status).toBe(202);
    expect(await t.runJobs()).toBe(1);
    expect(received).toHaveLength(DELIVERY_MAX_ATTEMPTS + 2);
  });

  it('a disabled endpoint gets nothing new; the log pages newest first', async () => {
    const ep = await endpoint('/paged', ['access.restricted']);
    for (let i = 0; i < 3; i++) {
      await emit({
        orgId: a.id,
        type: 'access.restricted',
        data: { i },
        at: new Date(t.deps.clock.nowMs() + i * 1000),
      });
    }
    const page1 = await deliveries(`endpoint_id=${ep.id}&limit=2`);
    expect(page1.data.map((d: { payload: { data: { i: number } } }) => d.payload.data.i)).toEqual([2, 1]);
    expect(page1.has_more).toBe(true);
    const page2 = await deliveries(`endpoint_id=${ep.id}&limit=2&starting_after=${page1.data[1].id}`);
    expect(page2.data.map((d: { payload: { data: { i: number } } }) => d.payload.data.i)).toEqual([0]);
    expect(page2.has_more).toBe(false);
    await t.runJobs();

    const patched = await asOperator('PATCH', `/v1/admin/webhook-endpoints/${ep.id}`, { active: false });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ active: false });
    expect(patched.body.secret).toBeUndefined();
    const entry = await auditEntryFor(t, patched, 'webhook_endpoint.updated');
    expect(entry).toMatchObject({
      org_id: null,
      target_id: ep.id,
      before: { active: true },
      after: { active: false },
    });
    const emitted = await emit({ orgId: a.id, type: 'access.restricted', data: { i: 9 } });
    expect(emitted?.deliveryIds).toEqual([]);
    await t.runJobs();
    expect(received).toHaveLength(3);
  });

  it('manages endpoints: secret shown once, validation names the field, changes are audited', async () => {
    const res = await asOperator('POST', '/v1/admin/webhook-endpoints', {
      url: `${receiverUrl}/x`,
      events: ['payment.failed', 'payment.failed'],
      org_id: a.id,
      description: 'billing alerts',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ events: ['payment.failed'], org_id: a.id, active: true });
    const created = await auditEntryFor(t, res, 'webhook_endpoint.created');
    expect(JSON.stringify(created)).not.toContain(res.body.secret);
    const list = await asOperator('GET', '/v1/admin/webhook-endpoints');
    expect(list.body.data).toEqual([
      expect.objectContaining({ id: res.body.id, description: 'billing alerts' }),
    ]);
    expect(list.text).not.toContain(res.body.secret);

    const bad = async (body: unknown, field: string) => {
      const r = await asOperator('POST', '/v1/admin/webhook-endpoints', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.message).toContain(field);
    };
    await bad({ url: 'ftp://example.test/hook', events: ['*'] }, 'url');
    await bad({ url: 'not a url', events: ['*'] }, 'url');
    await bad({ url: 'https://example.test/hook', events: [] }, 'events');
    await bad({ url: 'https://example.test/hook', events: ['payment.faild'] }, 'events');
    await bad(
      { url: 'https://example.test/hook', events: ['*'], org_id: 'org_doesNotExist000000000' },
      'org_id',
    );
    expect(
      (await asOperator('PATCH', `/v1/admin/webhook-endpoints/${res.body.id}`, { events: [] })).status,
    ).toBe(400);
    expect(
      (
        await asOperator('PATCH', '/v1/admin/webhook-endpoints/whep_doesNotExist00000000', {
          active: false,
        })
      ).status,
    ).toBe(404);

    const del = await asOperator('DELETE', `/v1/admin/webhook-endpoints/${res.body.id}`);
    expect(del.status).toBe(200);
    await auditEntryFor(t, del, 'webhook_endpoint.deleted');
    expect((await asOperator('DELETE', `/v1/admin/webhook-endpoints/${res.body.id}`)).status).toBe(404);
  });

  it('is for platform operators only', async () => {
    const ep = await endpoint('/ops', ['*']);
    await emit({ orgId: a.id, type: 'invoice.paid', data: {} });
    const [d] = (await deliveries(`endpoint_id=${ep.id}`)).data;
    const routes: [string, string, unknown?][] = [
      ['POST', '/v1/admin/webhook-endpoints', { url: 'https://example.test/h', events: ['*'] }],
      ['GET', '/v1/admin/webhook-endpoints'],
      ['PATCH', `/v1/admin/webhook-endpoints/${ep.id}`, { active: false }],
      ['DELETE', `/v1/admin/webhook-endpoints/${ep.id}`],
      ['GET', '/v1/admin/webhook-deliveries'],
      ['POST', `/v1/admin/webhook-deliveries/${d.id}/redeliver`],
    ];
    for (const [method, path, body] of routes) {
      expect((await t.request(method, path, { body })).status, `${method} ${path} anonymous`).toBe(401);
      expect(
        (await t.request(method, path, { token: a.key, body })).status,
        `${method} ${path} org key`,
      ).toBe(403);
      expect(
        (await t.request(method, path, { token: a.owner.jwt, body })).status,
        `${method} ${path} owner`,
      ).toBe(403);
    }
    // Nothing changed.
    const list = await asOperator('GET', '/v1/admin/webhook-endpoints');
    expect(list.body.data).toEqual([expect.objectContaining({ id: ep.id, active: true })]);
  });
});
