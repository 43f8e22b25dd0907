import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '../../test/testDatabase.ts';
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

describe('graceful stop', () => {
  it('stops claiming and waits for the running job to finish', async () => {
    const clock = manualClock();
    const started = deferred();
    const release = deferred();
    const ran: number[] = [];
    const task = defineTask({
      name: 'email',
      payload,
      run: async (p) => {
        started.resolve();
        await release.promise;
        ran.push(p.n);
      },
    });
    const worker = createWorker({ database: t.database, clock, tasks: [task], pollIntervalMs: 10 });
    const first = await enqueueJobInSystemTx(t.database, task.job({ n: 1 }));
    worker.start();
    await started.promise;

    let stopped = false;
    const stopping = worker.stop({ timeoutMs: 10_000 }).then(() => {
      stopped = true;
    });
    const second = await enqueueJobInSystemTx(t.database, task.job({ n: 2 }));
    await sleep(100);
    expect(stopped).toBe(false);
    expect(await readJob(t.database, first)).toMatchObject({ status: 'running' });

    release.resolve();
    await stopping;
    expect(ran).toEqual([1]);
    expect(await readJob(t.database, first)).toMatchObject({ status: 'done' });
    expect(await readJob(t.database, second)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('gives up after the timeout, aborts the task, and leaves the job to be taken over', async () => {
    const clock = manualClock();
    const started = deferred();
    const release = deferred();
    let signal: AbortSignal | undefined;
    const hung = defineTask({
      name: 'email',
      payload,
      run: async (_p, ctx) => {
        signal = ctx.signal;
        started.resolve();
        await release.promise;
      },
    });
    const worker = createWorker({ database: t.database, clock, tasks: [hung], lockTimeoutMs: 30_000 });
    const id = await enqueueJobInSystemTx(t.database, hung.job({ n: 1 }));
    worker.start();
    await started.promise;

    const before = Date.now();
    await worker.stop({ timeoutMs: 50 });
    expect(Date.now() - before).toBeLessThan(5_000);
    expect(signal?.aborted).toBe(true);
    expect(await readJob(t.database, id)).toMatchObject({ status: 'running', lockedBy: worker.id });

    let reruns = 0;
    const healthy = defineTask({ name: 'email', payload, run: async () => void reruns++ });
    const next = createWorker({ database: t.database, clock, tasks: [healthy] });
    clock.advance(30_001);
    expect(await next.runOnce()).toBe(1);
    expect(reruns).toBe(1);
    release.resolve();
    expect(await readJob(t.database, id)).toMatchObject({ status: 'done', lockedBy: next.id });
  });
});
