import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '../../test/testDatabase.ts';
import { createClock } from '../clock.ts';
import { jobs } from '../db/schema/jobs.ts';
import { withSystemTx } from '../db/tx.ts';
import { enqueueJobInSystemTx } from './enqueue.ts';
import { defineTask } from './task.ts';
import { clearJobs, deferred, manualClock, readJob, sleep } from './testSupport.ts';
import { createWorker } from './worker.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.dispose());
beforeEach(() => clearJobs(t.database));

const payload = z.object({ n: z.number() });

/** The row a worker leaves behind when its process dies mid-job. */
async function jobOfCrashedWorker(lockedUntil: Date, attempts: number, maxAttempts: number) {
  const [row] = await withSystemTx(t.database, (tx) =>
    tx
      .insert(jobs)
      .values({
        task: 'sync',
        payload: { n: 1 },
        status: 'running',
        attempts,
        maxAttempts,
        lockedBy: 'crashed-worker',
        lockedUntil,
      })
      .returning({ id: jobs.id }),
  );
  return row!.id;
}

describe('recovery from crashed and slow workers', () => {
  it("takes over a crashed worker's job once its lock has expired", async () => {
    const clock = manualClock();
    let runs = 0;
    const task = defineTask({ name: 'sync', payload, run: async () => void runs++ });
    const worker = createWorker({ database: t.database, clock, tasks: [task] });
    const id = await jobOfCrashedWorker(new Date(clock.nowMs() + 1_000), 1, 5);

    expect(await worker.runOnce()).toBe(0);
    clock.advance(1_001);
    expect(await worker.runOnce()).toBe(1);
    expect(runs).toBe(1);
    expect(await readJob(t.database, id)).toMatchObject({
      status: 'done',
      attempts: 2,
      lockedBy: worker.id,
      lastError: 'attempt 1 by crashed-worker did not finish before its lock expired',
    });
  });

  it('marks a taken-over job dead instead of running it when its attempts are used up', async () => {
    const clock = manualClock();
    let runs = 0;
    const task = defineTask({ name: 'sync', payload, run: async () => void runs++ });
    const worker = createWorker({ database: t.database, clock, tasks: [task] });
    const id = await jobOfCrashedWorker(new Date(clock.nowMs() - 1), 3, 3);

    expect(await worker.runOnce()).toBe(0);
    expect(runs).toBe(0);
    const row = await readJob(t.database, id);
    expect(row).toMatchObject({ status: 'dead', attempts: 3, finishedAt: clock.now() });
    expect(row.lastError).toContain('attempt 3 by crashed-worker did not finish');
  });

  it('does not let a slow worker overwrite the job after another worker took it over', async () => {
    const clock = manualClock();
    const slowStarted = deferred();
    const slowRelease = deferred();
    const fastStarted = deferred();
    const fastRelease = deferred();
    const slowTask = defineTask({
      name: 'sync',
      payload,
      run: async () => {
        slowStarted.resolve();
        await slowRelease.promise;
        throw new Error('slow worker failed late');
      },
    });
    const fastTask = defineTask({
      name: 'sync',
      payload,
      run: async () => {
        fastStarted.resolve();
        await fastRelease.promise;
      },
    });
    const slow = createWorker({ database: t.database, clock, tasks: [slowTask], lockTimeoutMs: 60_000 });
    const fast = createWorker({ database: t.database, clock, tasks: [fastTask], lockTimeoutMs: 60_000 });
    const id = await enqueueJobInSystemTx(t.database, slowTask.job({ n: 1 }));

    const slowRun = slow.runOnce();
    await slowStarted.promise;
    expect(await fast.runOnce()).toBe(0); // locked by the slow worker
    clock.advance(60_001);
    const fastRun = fast.runOnce();
    await fastStarted.promise;

    // The slow original fails while the new owner is still running: its retry must not land.
    slowRelease.resolve();
    expect(await slowRun).toBe(1);
    const during = await readJob(t.database, id);
    expect(during).toMatchObject({ status: 'running', attempts: 2, lockedBy: fast.id });
    expect(during.lastError).toBe(`attempt 1 by ${slow.id} did not finish before its lock expired`);

    fastRelease.resolve();
    expect(await fastRun).toBe(1);
    expect(await readJob(t.database, id)).toMatchObject({ status: 'done', attempts: 2, lockedBy: fast.id });
  });

  it('keeps the lock of a long-running job alive, so no other worker runs it meanwhile', async () => {
    // Real time here: the heartbeat extends the lock on wall-clock intervals.
    const clock = createClock();
    let runs = 0;
    const task = defineTask({
      name: 'sync',
      payload,
      run: async () => {
        runs++;
        await sleep(1_500);
      },
    });
    const a = createWorker({ database: t.database, clock, tasks: [task], lockTimeoutMs: 600 });
    const b = createWorker({ database: t.database, clock, tasks: [task], lockTimeoutMs: 600 });
    const id = await enqueueJobInSystemTx(t.database, task.job({ n: 1 }));
    const running = a.runOnce();
    const deadline = Date.now() + 1_700;
    let stolen = 0;
    while (Date.now() < deadline) {
      stolen += await b.runOnce();
      await sleep(25);
    }
    expect(await running).toBe(1);
    expect(stolen).toBe(0);
    expect(runs).toBe(1);
    expect(await readJob(t.database, id)).toMatchObject({ status: 'done', attempts: 1, lockedBy: a.id });
  });

  it("aborts the task's signal when its lock was taken over", async () => {
    const clock = createClock();
    const started = deferred();
    let aborted: unknown;
    const task = defineTask({
      name: 'sync',
      payload,
      run: async (_p, ctx) => {
        started.resolve();
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        aborted = ctx.signal.reason;
      },
    });
    const a = createWorker({ database: t.database, clock, tasks: [task], lockTimeoutMs: 150 });
    const id = await enqueueJobInSystemTx(t.database, task.job({ n: 1 }));
    const running = a.runOnce();
    await started.promise;
    // Another worker's claim, as if it had taken the job over after a pause of this one.
    await withSystemTx(t.database, (tx) => tx.update(jobs).set({ lockedBy: 'other-worker', attempts: 2 }));
    await running;
    expect(String(aborted)).toContain('taken over');
    expect(await readJob(t.database, id)).toMatchObject({ status: 'running', lockedBy: 'other-worker' });
  });
});
