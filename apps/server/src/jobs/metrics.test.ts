import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '../../test/testDatabase.ts';
import { enqueueJobInSystemTx } from './enqueue.ts';
import { PermanentJobError } from './errors.ts';
import { jobStats } from './metrics.ts';
import { defineTask } from './task.ts';
import { manualClock } from './testSupport.ts';
import { createWorker } from './worker.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.dispose());

describe('jobStats', () => {
  it('counts jobs by status and reports how long the oldest due job has waited', async () => {
    const clock = manualClock();
    expect(await jobStats(t.database, clock)).toEqual({
      counts: { queued: 0, running: 0, done: 0, dead: 0 },
      oldestQueuedAgeMs: null,
    });

    const ok = defineTask({ name: 'ok', payload: z.object({}), run: async () => {} });
    const bad = defineTask({
      name: 'bad',
      payload: z.object({}),
      run: async () => {
        throw new PermanentJobError('no');
      },
    });
    const worker = createWorker({ database: t.database, clock, tasks: [ok, bad] });
    await enqueueJobInSystemTx(t.database, ok.job({}));
    await enqueueJobInSystemTx(t.database, bad.job({}));
    await worker.runOnce();

    const at = (offsetMs: number) => ({ runAt: new Date(clock.nowMs() + offsetMs) });
    await enqueueJobInSystemTx(t.database, { task: 'later', payload: {}, ...at(-1_000) });
    await enqueueJobInSystemTx(t.database, { task: 'later', payload: {}, ...at(-5_000) });
    // Scheduled for later: queued, but not waiting yet.
    await enqueueJobInSystemTx(t.database, { task: 'later', payload: {}, ...at(60_000) });

    expect(await jobStats(t.database, clock)).toEqual({
      counts: { queued: 3, running: 0, done: 1, dead: 1 },
      oldestQueuedAgeMs: 5_000,
    });
    clock.advance(61_000);
    expect((await jobStats(t.database, clock)).oldestQueuedAgeMs).toBe(66_000);
  });
});
