import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '../../test/testDatabase.ts';
import { createClock } from '../clock.ts';
import { createDatabase, type Database } from '../db/client.ts';
import { jobs } from '../db/schema/jobs.ts';
import { withSystemTx } from '../db/tx.ts';
import { enqueueJob } from './enqueue.ts';
import { jobStats } from './metrics.ts';
import { defineTask } from './task.ts';
import { allJobs, sleep } from './testSupport.ts';
import { createWorker } from './worker.ts';

let t: TestDatabase;
// On Postgres the second worker has its own connection pool, as a second process would.
let second: Database;
beforeAll(async () => {
  t = await createTestDatabase();
  second = t.url ? await createDatabase({ url: t.url, poolSize: 5 }) : t.database;
});
afterAll(async () => {
  if (second !== t.database) await second.close();
  await t.dispose();
});

describe('several workers on one database', () => {
  it('claim disjoint jobs: each of 200 jobs runs exactly once', async () => {
    const clock = createClock();
    const runsById = new Map<number, number>();
    const ranBy = new Map<number, string>();
    const makeTask = (workerName: string) =>
      defineTask({
        name: 'deliver',
        payload: z.object({ i: z.number() }),
        run: async (_p, ctx) => {
          runsById.set(ctx.job.id, (runsById.get(ctx.job.id) ?? 0) + 1);
          ranBy.set(ctx.job.id, workerName);
          await sleep(Math.floor(Math.random() * 4));
        },
      });
    const a = createWorker({
      database: t.database,
      clock,
      tasks: [makeTask('a')],
      workerId: 'a',
      concurrency: 4,
      pollIntervalMs: 5,
    });
    const b = createWorker({
      database: second,
      clock,
      tasks: [makeTask('b')],
      workerId: 'b',
      concurrency: 4,
      pollIntervalMs: 5,
    });
    const task = makeTask('enqueuer');
    await withSystemTx(t.database, async (tx) => {
      for (let i = 0; i < 200; i++) await enqueueJob(tx, task.job({ i }));
    });

    a.start();
    b.start();
    try {
      await Promise.all([a.idle(), b.idle()]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }

    const rows = await allJobs(t.database);
    expect(rows).toHaveLength(200);
    expect(rows.every((r) => r.status === 'done' && r.attempts === 1)).toBe(true);
    expect(rows.filter((r) => runsById.get(r.id) !== 1)).toEqual([]);
    // The row records the worker that ran the job: claims were disjoint and both took part.
    expect(rows.filter((r) => r.lockedBy !== ranBy.get(r.id))).toEqual([]);
    const byA = rows.filter((r) => r.lockedBy === 'a').length;
    expect(byA).toBeGreaterThan(0);
    expect(byA).toBeLessThan(200);
    expect((await jobStats(t.database, clock)).counts).toEqual({ queued: 0, running: 0, done: 200, dead: 0 });
  });

  it('never claims more than the limit per worker, however many jobs are due', async () => {
    const clock = createClock();
    let running = 0;
    let peak = 0;
    const task = defineTask({
      name: 'bounded',
      payload: z.object({}),
      run: async () => {
        peak = Math.max(peak, ++running);
        await sleep(5);
        running--;
      },
    });
    await withSystemTx(t.database, async (tx) => {
      for (let i = 0; i < 30; i++) await enqueueJob(tx, task.job({}));
    });
    const worker = createWorker({
      database: t.database,
      clock,
      tasks: [task],
      concurrency: 3,
      pollIntervalMs: 5,
    });
    worker.start();
    await worker.idle();
    await worker.stop();
    expect(peak).toBe(3);
    const done = await withSystemTx(t.database, (tx) => tx.select().from(jobs));
    expect(done.filter((r) => r.task === 'bounded' && r.status === 'done')).toHaveLength(30);
  });
});
