import { eq } from 'drizzle-orm';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/client.ts';
import { jobs } from '../db/schema/jobs.ts';
import { withSystemTx } from '../db/tx.ts';
import type { JobRow } from './repo.ts';

/** Helpers for the job tests only (not exported from index.ts). */

/**
 * A clock that moves only when told to, so retry times can be asserted exactly. It starts an
 * hour ahead of wall time, like a demo that advanced time: jobs enqueued without runAt (stamped
 * with the database's now()) are due at once.
 */
export function manualClock(start = new Date(Date.now() + 3_600_000)): Clock {
  let ms = start.getTime();
  return {
    now: () => new Date(ms),
    nowMs: () => ms,
    advance(by) {
      if (by < 0) throw new Error('the clock only moves forward');
      ms += by;
    },
    setTo(to) {
      ms = Math.max(ms, to.getTime());
    },
  };
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function readJob(database: Database, id: number): Promise<JobRow> {
  const [row] = await withSystemTx(database, (tx) => tx.select().from(jobs).where(eq(jobs.id, id)));
  if (!row) throw new Error(`job ${id} not found`);
  return row;
}

export async function allJobs(database: Database): Promise<JobRow[]> {
  return withSystemTx(database, (tx) => tx.select().from(jobs).orderBy(jobs.id));
}

export async function clearJobs(database: Database): Promise<void> {
  await withSystemTx(database, (tx) => tx.delete(jobs));
}
