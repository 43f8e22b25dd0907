import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '../../test/testDatabase.ts';
import { enqueueJobInSystemTx } from './enqueue.ts';
import { PermanentJobError, RetryJobError } from './errors.ts';
import { defineTask, type JobInfo } from './task.ts';
import { clearJobs, manualClock, readJob } from './testSupport.ts';
import { createWorker } from './worker.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.dispose());
beforeEach(() => clearJobs(t.database));

const payload = z.object({ invoiceId: z.string() });

describe('worker', () => {
  it('runs a due job once, with its payload, and marks it done', async () => {
    const clock = manualClock();
    const seen: { invoiceId: string; job: JobInfo }[] = [];
    const task = defineTask({
      name: 'receipt',
      payload,
      run: async (p, ctx) => {
        seen.push({ invoiceId: p.invoiceId, job: ctx.job });
      },
    });
    const worker = createWorker({ database: t.database, clock, tasks: [task] });
    const id = await enqueueJobInSystemTx(t.database, task.job({ invoiceId: 'in_1' }));

    expect(await worker.runOnce()).toBe(1);
    expect(await worker.runOnce()).toBe(0);
    expect(seen).toEqual([
      { invoiceId: 'in_1', job: expect.objectContaining({ id, attempt: 1, task: 'receipt' }) },
    ]);
    expect(await readJob(t.database, id)).toMatchObject({
      status: 'done',
      attempts: 1,
      finishedAt: clock.now(),
      lockedUntil: null,
      lastError: null,
      lockedBy: worker.id,
    });
  });

  it('does not run a job before its runAt', async () => {
    const clock = manualClock();
    let runs = 0;
    const task = defineTask({ name: 'later', payload, run: async () => void runs++ });
    const worker = createWorker({ database: t.database, clock, tasks: [task] });
    await enqueueJobInSystemTx(
      t.database,
      task.job({ invoiceId: 'in_1' }, { runAt: new Date(clock.nowMs() + 60_000) }),
    );
    clock.advance(59_999);
    expect(await worker.runOnce()).toBe(0);
    clock.advance(1);
    expect(await worker.runOnce()).toBe(1);
    expect(runs).toBe(1);
  });

  it('sends a job whose payload fails validation straight to dead with the zod message', async () => {
    const clock = manualClock();
    let runs = 0;
    const task = defineTask({ name: 'strict', payload, maxAttempts: 5, run: async () => void runs++ });
    const worker = createWorker({ database: t.database, clock, tasks: [task] });
    // Enqueued by name, bypassing task.job()'s check, as an old release or a hand-written row might.
    const id = await enqueueJobInSystemTx(t.database, { task: 'strict', payload: { invoiceId: 42 } });

    expect(await worker.runOnce()).toBe(1);
    const row = await readJob(t.database, id);
    expect(runs).toBe(0);
    expect(row).toMatchObject({ status: 'dead', attempts: 1, finishedAt: clock.now() });
    expect(row.lastError).toContain('InvalidJobPayloadError');
    expect(row.lastError).toMatch(/expected string, received number[\s\S]*invoiceId/);
    clock.advance(24 * 3_600_000);
    expect(await worker.runOnce()).toBe(0);
  });

  it('retries a failing job with exponential backoff, then marks it dead after maxAttempts', async () => {
    const clock = manualClock();
    let runs = 0;
    const task = defineTask({
      name: 'flaky',
      payload,
      maxAttempts: 4,
      backoff: { baseMs: 1_000, maxMs: 3_000 },
      run: async () => {
        runs++;
        throw new Error(`stripe unavailable (${runs})`);
      },
    });
    const worker = createWorker({ database: t.database, clock, tasks: [task] });
    const id = await enqueueJobInSystemTx(t.database, task.job({ invoiceId: 'in_1' }));

    // Delays after attempts 1, 2, 3: 1s, 2s, then 4s capped at 3s.
    for (const [attempt, delay] of [
      [1, 1_000],
      [2, 2_000],
      [3, 3_000],
    ] as const) {
      expect(await worker.runOnce()).toBe(1);
      const row = await readJob(t.database, id);
      expect(row).toMatchObject({ status: 'queued', attempts: attempt, lockedUntil: null });
      expect(row.runAt).toEqual(new Date(clock.nowMs() + delay));
      expect(row.lastError).toBe(`Error: stripe unavailable (${attempt})`);
      clock.advance(delay - 1);
      expect(await worker.runOnce()).toBe(0);
      clock.advance(1);
    }
    expect(await worker.runOnce()).toBe(1);
    expect(await readJob(t.database, id)).toMatchObject({
      status: 'dead',
      attempts: 4,
      finishedAt: clock.now(),
      lastError: 'Error: stripe unavailable (4)',
    });
    clock.advance(24 * 3_600_000);
    expect(await worker.runOnce()).toBe(0);
    expect(runs).toBe(4);
  });

  it('completes a job that succeeds on a retry', async () => {
    const clock = manualClock();
    let runs = 0;
    const task = defineTask({
      name: 'second-time-lucky',
      payload,
      backoff: { baseMs: 500, maxMs: 500 },
      run: async () => {
        if (++runs === 1) throw new Error('timeout');
      },
    });
    const worker = createWorker({ database: t.database, clock, tasks: [task] });
    const id = await enqueueJobInSystemTx(t.database, task.job({ invoiceId: 'in_1' }));
    await worker.runOnce();
    clock.advance(500);
    expect(await worker.runOnce()).toBe(1);
    expect(await readJob(t.database, id)).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('honours RetryJobError delays and PermanentJobError', async () => {
    const clock = manualClock();
    const limited = defineTask({
      name: 'rate-limited',
      payload,
      run: async () => {
        throw new RetryJobError('429 from Stripe', 30_000);
      },
    });
    const refused = defineTask({
      name: 'refused',
      payload,
      maxAttempts: 10,
      run: async () => {
        throw new PermanentJobError('customer was deleted');
      },
    });
    const worker = createWorker({ database: t.database, clock, tasks: [limited, refused] });
    const a = await enqueueJobInSystemTx(t.database, limited.job({ invoiceId: 'in_1' }));
    const b = await enqueueJobInSystemTx(t.database, refused.job({ invoiceId: 'in_1' }));
    expect(await worker.runOnce()).toBe(2);
    expect(await readJob(t.database, a)).toMatchObject({
      status: 'queued',
      runAt: new Date(clock.nowMs() + 30_000),
      lastError: 'RetryJobError: 429 from Stripe',
    });
    expect(await readJob(t.database, b)).toMatchObject({
      status: 'dead',
      attempts: 1,
      lastError: 'PermanentJobError: customer was deleted',
    });
  });

  it('leaves jobs of tasks it does not know for workers that do', async () => {
    const clock = manualClock();
    const known = defineTask({ name: 'known', payload, run: async () => {} });
    const worker = createWorker({ database: t.database, clock, tasks: [known] });
    const id = await enqueueJobInSystemTx(t.database, { task: 'from-a-newer-release', payload: {} });
    expect(await worker.runOnce()).toBe(0);
    expect(await readJob(t.database, id)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('when started, picks up jobs enqueued later and runs follow-up jobs', async () => {
    const clock = manualClock();
    const ran: string[] = [];
    const second = defineTask({
      name: 'second',
      payload,
      run: async (p) => void ran.push(`second:${p.invoiceId}`),
    });
    const first = defineTask({
      name: 'first',
      payload,
      run: async (p, ctx) => {
        ran.push(`first:${p.invoiceId}`);
        await enqueueJobInSystemTx(ctx.database, second.job(p));
      },
    });
    const worker = createWorker({ database: t.database, clock, tasks: [first, second], pollIntervalMs: 20 });
    worker.start();
    try {
      await worker.idle();
      await enqueueJobInSystemTx(t.database, first.job({ invoiceId: 'in_1' }));
      await worker.idle();
      expect(ran).toEqual(['first:in_1', 'second:in_1']);
    } finally {
      await worker.stop();
    }
  });
});
