import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/app.ts';
import { createDatabase, type Database } from '../src/db/client.ts';
import { withOrgTx } from '../src/db/tx.ts';
import { createApiKeyCache } from '../src/modules/api-keys/authenticateApiKey.ts';
import { createLiveHub } from '../src/modules/live/liveHub.ts';
import { type OrgChange, publishOrgChange } from '../src/modules/live/publishOrgChange.ts';
import { seedCatalog } from './catalogFixture.ts';
import { createTestOrg, type TestOrg } from './factories.ts';
import { startTestApp, type TestApp } from './harness.ts';
import { testDbKind } from './testDatabase.ts';

interface SseEvent {
  event: string;
  id: string | undefined;
  retry: string | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  data: any;
}

/**
 * A server-sent-events client parsing frames as EventSource does, over node:http without an agent.
 * Not fetch: after an abort, Node 20's fetch pool opens a spare connection that never sends a
 * request, and Node's server.close() then waits for it until headersTimeout (60 s).
 */
async function openStream(url: string, headers: Record<string, string>) {
  const queue: SseEvent[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  let onEnd: () => void = () => {};
  const endedP = new Promise<boolean>((resolve) => {
    onEnd = () => resolve(true);
  });
  const { req, res } = await new Promise<{ req: http.ClientRequest; res: http.IncomingMessage }>(
    (resolve, reject) => {
      const req = http.get(url, { headers, agent: false }, (res) => resolve({ req, res }));
      req.on('error', reject);
    },
  );
  req.on('error', () => {});
  let buf = '';
  let heartbeats = 0;
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const fields = new Map<string, string>();
      for (const line of buf.slice(0, i).split('\n')) {
        if (line === ': heartbeat') heartbeats++;
        if (line.startsWith(':')) continue; // a comment
        const at = line.indexOf(': ');
        if (at > 0) fields.set(line.slice(0, at), line.slice(at + 2));
      }
      buf = buf.slice(i + 2);
      notify();
      if (!fields.has('event')) continue;
      queue.push({
        event: fields.get('event')!,
        id: fields.get('id'),
        retry: fields.get('retry'),
        data: JSON.parse(fields.get('data') ?? 'null'),
      });
      notify();
    }
  });
  res.on('close', () => {
    ended = true;
    notify();
    onEnd();
  });
  return {
    status: res.statusCode,
    headers: res.headers,
    /** The next event, or null when none arrives within `ms` (or the stream ended). */
    async next(ms = 3_000): Promise<SseEvent | null> {
      const until = Date.now() + ms;
      while (!queue.length && !ended && Date.now() < until) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.max(0, until - Date.now()));
        });
      }
      return queue.shift() ?? null;
    },
    ended: () => endedP,
    heartbeats: () => heartbeats,
    close: () => req.destroy(),
  };
}

async function publish(database: Database, orgId: string, change: OrgChange) {
  await withOrgTx(database, orgId, (tx) => publishOrgChange(tx, orgId, change));
}

let t: TestApp;
let a: TestOrg;
let b: TestOrg;
const streamUrl = (base: string, org: TestOrg) => `${base}/v1/orgs/${org.id}/events/stream`;

beforeAll(async () => {
  t = await startTestApp();
  a = await createTestOrg(t, 'Alpha');
  b = await createTestOrg(t, 'Beta');
});
afterAll(() => t.close());

describe('live updates (server-sent events)', () => {
  it("streams ready, then the org's committed changes — not another org's, not a rolled-back one", async () => {
    const s = await openStream(streamUrl(t.url, a), { authorization: `Bearer ${a.member.jwt}` });
    try {
      expect(s.status).toBe(200);
      expect(s.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(s.headers['cache-control']).toBe('no-cache');
      const ready = await s.next();
      expect(ready).toMatchObject({ event: 'ready', retry: '3000', data: { org_id: a.id } });

      await publish(t.deps.database, b.id, { type: 'subscription.updated', id: 'sub_other', data: {} });
      await expect(
        withOrgTx(t.deps.database, a.id, async (tx) => {
          await publishOrgChange(tx, a.id, { type: 'invoice.paid', id: 'in_rolled_back' });
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      await publish(t.deps.database, a.id, {
        type: 'subscription.updated',
        id: 'sub_mine',
        data: { status: 'past_due' },
      });

      // Notifications arrive in commit order, so a leak would show up before this one.
      const got = await s.next();
      expect(got?.event).toBe('subscription.updated');
      expect(got?.data).toMatchObject({
        org_id: a.id,
        type: 'subscription.updated',
        object_id: 'sub_mine',
        data: { status: 'past_due' },
      });
      expect(got?.id).toBe(got?.data.id);
      expect(await s.next(400)).toBeNull();
    } finally {
      s.close();
    }
  });

  it('accepts a secret key and a dashboard session cookie; each client gets every change', async () => {
    const link = await t.request('POST', `/v1/orgs/${a.id}/dashboard-sessions`, {
      token: a.key,
      body: { user_id: a.member.userId },
    });
    expect(link.status).toBe(201);
    const signIn = await fetch(link.body.url, { redirect: 'manual' });
    const cookie = signIn.headers
      .getSetCookie()
      .find((c) => c.startsWith('tg_session='))!
      .split(';')[0]!;
    const byCookie = await openStream(streamUrl(t.url, a), { cookie });
    const byKey = await openStream(streamUrl(t.url, a), { authorization: `Bearer ${a.key}` });
    try {
      expect((await byCookie.next())?.event).toBe('ready');
      expect((await byKey.next())?.event).toBe('ready');
      await publish(t.deps.database, a.id, { type: 'invoice.paid', id: 'in_1', data: { amount_paid: 2900 } });
      for (const s of [byCookie, byKey]) {
        expect(await s.next()).toMatchObject({ event: 'invoice.paid', data: { object_id: 'in_1' } });
      }
    } finally {
      byCookie.close();
      byKey.close();
    }
  });

  it('drops an oversized summary (NOTIFY caps payloads) but still announces the change', async () => {
    const s = await openStream(streamUrl(t.url, a), { authorization: `Bearer ${a.key}` });
    try {
      expect((await s.next())?.event).toBe('ready');
      await publish(t.deps.database, a.id, {
        type: 'invoice.updated',
        id: 'in_big',
        data: 'x'.repeat(20_000),
      });
      expect((await s.next())?.data).toMatchObject({ object_id: 'in_big', data: null, truncated: true });
    } finally {
      s.close();
    }
  });

  it('sends a heartbeat comment every 15 seconds', async () => {
    // Only setInterval is faked, and the stream's timer is created while it is: the server runs
    // in this process, so advancing the fake clock fires the route's heartbeat.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const s = await openStream(streamUrl(t.url, a), { authorization: `Bearer ${a.key}` });
      expect((await s.next())?.event).toBe('ready');
      vi.advanceTimersByTime(14_000);
      await new Promise((r) => setTimeout(r, 100));
      expect(s.heartbeats()).toBe(0);
      vi.advanceTimersByTime(1_000);
      await expect.poll(() => s.heartbeats()).toBe(1);
      vi.advanceTimersByTime(30_000);
      await expect.poll(() => s.heartbeats()).toBe(3);
      s.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('unsubscribes a client that disconnects', async () => {
    const s = await openStream(streamUrl(t.url, b), { authorization: `Bearer ${b.key}` });
    expect((await s.next())?.event).toBe('ready');
    expect(t.deps.live!.subscriberCount(b.id)).toBe(1);
    s.close();
    await s.ended();
    await expect.poll(() => t.deps.live!.subscriberCount(b.id)).toBe(0);
  });

  it('ends open streams when the app closes, without holding up the close', async () => {
    const other = await startTestApp();
    const org = await createTestOrg(other, 'Gamma');
    const s = await openStream(streamUrl(other.url, org), { authorization: `Bearer ${org.key}` });
    expect((await s.next())?.event).toBe('ready');
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await s.ended()).toBe(true);
  });
});

describe('live updates from applied Stripe events', () => {
  it("a subscription's webhook events, once applied, reach the org's stream", async () => {
    await seedCatalog(t);
    t.enableStripeWebhooks();
    const org = await createTestOrg(t, 'Delta');
    const s = await openStream(streamUrl(t.url, org), { authorization: `Bearer ${org.member.jwt}` });
    try {
      expect((await s.next())?.event).toBe('ready');
      await t.request('POST', `/v1/orgs/${org.id}/payment-methods`, {
        token: org.key,
        body: { payment_method_id: 'pm_card_visa' },
      });
      const sub = await t.request('POST', `/v1/orgs/${org.id}/subscription`, {
        token: org.key,
        body: { plan: 'enterprise' },
      });
      expect(sub.status, JSON.stringify(sub.body)).toBe(201);
      await t.emulator.control.waitForDeliveries();
      expect(await t.processEvents()).toBeGreaterThan(0);
      const seen: SseEvent[] = [];
      for (let e = await s.next(); e; e = await s.next(500)) seen.push(e);
      const invoice = seen.find((e) => e.event === 'invoice.updated');
      expect(invoice?.data).toMatchObject({
        org_id: org.id,
        object_id: sub.body.subscription.latest_invoice_id,
      });
      expect(seen.every((e) => e.data.org_id === org.id)).toBe(true);
    } finally {
      s.close();
    }
  });
});

// PGlite is one in-process database: a second process cannot open it, so there is nothing to share.
describe.skipIf(testDbKind() === 'pglite')('live updates across server processes (Postgres only)', () => {
  let second: { url: string; database: Database; close(): Promise<void> };

  beforeAll(async () => {
    const database = await createDatabase({ url: t.db.url!, poolSize: 4 });
    const live = createLiveHub(database, { initialBackoffMs: 50 });
    const app = await buildApp(
      { ...t.deps, database, live, apiKeyCache: createApiKeyCache() },
      { dashboardDir: '/nonexistent' },
    );
    await app.listen({ host: '127.0.0.1', port: 0 });
    second = {
      url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
      database,
      async close() {
        await app.close();
        await live.close();
        await database.close();
      },
    };
  });
  afterAll(() => second?.close());

  it("a change committed through instance A reaches instance B's client", async () => {
    const s = await openStream(streamUrl(second.url, a), { authorization: `Bearer ${a.member.jwt}` });
    try {
      expect((await s.next())?.event).toBe('ready');
      await publish(t.deps.database, a.id, { type: 'billing_state.updated', data: { state: 'past_due' } });
      expect(await s.next()).toMatchObject({
        event: 'billing_state.updated',
        data: { org_id: a.id, data: { state: 'past_due' } },
      });
    } finally {
      s.close();
    }
  });

  it('reconnects a dropped LISTEN connection and tells clients to resync', async () => {
    const s = await openStream(streamUrl(second.url, a), { authorization: `Bearer ${a.key}` });
    try {
      expect((await s.next())?.event).toBe('ready');
      const killed = await second.database.query<{ ok: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
          WHERE datname = current_database() AND query = 'LISTEN tollgate_org_changes'`,
      );
      expect(killed.length).toBeGreaterThan(0);
      expect(await s.next(5_000)).toMatchObject({ event: 'resync', data: { org_id: a.id } });
      await publish(t.deps.database, a.id, { type: 'subscription.updated', id: 'sub_after' });
      expect(await s.next()).toMatchObject({ data: { object_id: 'sub_after' } });
    } finally {
      s.close();
    }
  });
});
