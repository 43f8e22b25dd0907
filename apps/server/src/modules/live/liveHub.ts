import type pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../../db/client.ts';
import { randomToken } from '../../ids.ts';
import { decodeOrgChanges, ORG_CHANGES_CHANNEL, type OrgChangeMessage } from './publishOrgChange.ts';

export type LiveSubscriber = (message: OrgChangeMessage) => void;

/**
 * The per-process fan-out of org changes: one LISTEN connection for the whole process, however
 * many streams are open, delivering each notification to the subscribers of its org.
 */
export interface LiveHub {
  /** Starts listening on first use. `fn` runs synchronously on each change; it must not throw. */
  subscribe(orgId: string, fn: LiveSubscriber): () => void;
  /**
   * Every org's changes (process-wide caches). After a lost LISTEN connection comes back, `fn`
   * gets one `resync` with `org_id: '*'`: anything may have changed meanwhile.
   */
  subscribeAll(fn: LiveSubscriber): () => void;
  /** True while the LISTEN connection is up (notifications are arriving). */
  isListening(): boolean;
  /** How many subscribers this process has for `orgId` (all orgs when omitted). */
  subscriberCount(orgId?: string): number;
  /** Resolves once this process is LISTENing (rejects after `close`). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface LiveHubOptions {
  logger?: Pick<Logger, 'warn' | 'info'>;
  /** Reconnect backoff for the Postgres LISTEN connection (doubles per failure, with jitter). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Postgres: a dedicated node-postgres Client (never a pooled one: releasing it would drop the
 * LISTEN), reconnected with backoff when it drops. Notifications sent while it was down are
 * lost, so after a reconnect every subscriber gets a `resync` message telling it to refetch.
 * PGlite: its in-process `listen` on the one embedded connection (nothing to reconnect).
 */
export function createLiveHub(database: Database, opts: LiveHubOptions = {}): LiveHub {
  const initialBackoff = opts.initialBackoffMs ?? 250;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  const subscribers = new Map<string, Set<LiveSubscriber>>();
  const everyOrg = new Set<LiveSubscriber>();
  let state: 'idle' | 'connecting' | 'listening' | 'waiting' | 'closed' = 'idle';
  let waiters: { resolve(): void; reject(err: Error): void }[] = [];
  let pgClient: pg.Client | null = null;
  let unlistenPglite: (() => Promise<void>) | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let failures = 0;
  let missedSomething = false;

  function dispatch(payload: string | undefined) {
    for (const message of decodeOrgChanges(payload)) {
      deliver(subscribers.get(message.org_id), message);
      deliver(everyOrg, message);
    }
  }

  function deliver(fns: Iterable<LiveSubscriber> | undefined, message: OrgChangeMessage) {
    for (const fn of fns ?? []) {
      try {
        fn(message);
      } catch (err) {
        opts.logger?.warn({ err }, 'live subscriber failed');
      }
    }
  }

  function resyncEveryone() {
    const resync = (orgId: string): OrgChangeMessage => ({
      id: `chg_${randomToken(20)}`,
      org_id: orgId,
      type: 'resync',
      object_id: null,
      data: null,
    });
    for (const [orgId, fns] of subscribers) deliver(fns, resync(orgId));
    deliver(everyOrg, resync('*'));
  }

  function settle(err?: Error) {
    const w = waiters;
    waiters = [];
    for (const x of w) err ? x.reject(err) : x.resolve();
  }

  function start() {
    if (state !== 'idle') return;
    state = 'connecting';
    void connect();
  }

  async function connect() {
    const listener = database.listener;
    if (!listener) {
      state = 'closed';
      settle(new Error('this database handle cannot LISTEN'));
      return;
    }
    try {
      if (listener.kind === 'pglite') {
        const unlisten = await listener.client.listen(ORG_CHANGES_CHANNEL, dispatch);
        if (state === 'closed') return void (await unlisten().catch(() => {}));
        unlistenPglite = unlisten;
      } else {
        const client = listener.newClient();
        client.on('notification', (n) => {
          if (n.channel === ORG_CHANGES_CHANNEL) dispatch(n.payload);
        });
        client.on('error', (err) => dropped(client, err));
        client.on('end', () => dropped(client));
        pgClient = client;
        await client.connect();
        await client.query(`LISTEN ${ORG_CHANGES_CHANNEL}`);
        if (state === 'closed' || pgClient !== client) return;
      }
      state = 'listening';
      failures = 0;
      settle();
      if (missedSomething) {
        missedSomething = false;
        resyncEveryone();
      }
    } catch (err) {
      if (state === 'closed') return;
      if (listener.kind === 'pglite') {
        state = 'closed';
        settle(err as Error);
        return;
      }
      if (pgClient) dropped(pgClient, err as Error);
    }
  }

  /** The Postgres connection failed or ended: forget it and try again after a backoff. */
  function dropped(client: pg.Client, err?: Error) {
    if (state === 'closed' || client !== pgClient) return;
    pgClient = null;
    client.removeAllListeners('end');
    client.on('error', () => {}); // late errors from a dead client must not crash the process
    void client.end().catch(() => {});
    missedSomething = true;
    state = 'waiting';
    const delay = Math.min(maxBackoff, initialBackoff * 2 ** failures) * (0.5 + Math.random() / 2);
    failures++;
    opts.logger?.warn({ err, retryInMs: Math.round(delay) }, 'live updates: LISTEN connection lost');
    retryTimer = setTimeout(() => {
      retryTimer = null;
      if (state !== 'waiting') return;
      state = 'connecting';
      void connect();
    }, delay);
    retryTimer.unref();
  }

  return {
    subscribe(orgId, fn) {
      if (state === 'closed') return () => {};
      const set = subscribers.get(orgId) ?? new Set<LiveSubscriber>();
      subscribers.set(orgId, set);
      set.add(fn);
      start();
      return () => {
        set.delete(fn);
        if (!set.size && subscribers.get(orgId) === set) subscribers.delete(orgId);
      };
    },
    subscribeAll(fn) {
      if (state === 'closed') return () => {};
      everyOrg.add(fn);
      start();
      return () => void everyOrg.delete(fn);
    },
    isListening() {
      return state === 'listening';
    },
    subscriberCount(orgId) {
      if (orgId !== undefined) return subscribers.get(orgId)?.size ?? 0;
      let n = 0;
      for (const set of subscribers.values()) n += set.size;
      return n;
    },
    ready() {
      if (state === 'listening') return Promise.resolve();
      if (state === 'closed') return Promise.reject(new Error('live hub closed'));
      const p = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
      start();
      return p;
    },
    async close() {
      if (state === 'closed') return;
      state = 'closed';
      subscribers.clear();
      everyOrg.clear();
      if (retryTimer) clearTimeout(retryTimer);
      settle(new Error('live hub closed'));
      const client = pgClient;
      pgClient = null;
      if (client) {
        client.removeAllListeners('end');
        client.on('error', () => {});
        await client.end().catch(() => {});
      }
      await unlistenPglite?.().catch(() => {});
      unlistenPglite = null;
    },
  };
}
