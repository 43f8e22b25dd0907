import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '../../test/testDatabase.ts';
import { jobs } from '../db/schema/jobs.ts';
import { withOrgTx, withSystemTx } from '../db/tx.ts';
import { enqueueJob, enqueueJobInSystemTx } from './enqueue.ts';
import { InvalidJobPayloadError } from './errors.ts';
import { defineTask } from './task.ts';
import { allJobs, clearJobs, readJob } from './testSupport.ts';

const sendReceipt = defineTask({
  name: 'invoices.send_receipt',
  payload: z.object({ invoiceId: z.string().startsWith('in_') }),
  maxAttempts: 3,
  run: async () => {},
});

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.dispose());
beforeEach(() => clearJobs(t.database));

describe('enqueueJob', () => {
  it('enqueues a job with the task and payload, due now', async () => {
    const id = await enqueueJobInSystemTx(t.database, sendReceipt.job({ invoiceId: 'in_1' }));
    const row = await readJob(t.database, id);
    expect(row).toMatchObject({
      task: 'invoices.send_receipt',
      payload: { invoiceId: 'in_1' },
      status: 'queued',
      attempts: 0,
      maxAttempts: 3,
    });
  });

  it('with the same dedupe key enqueues once and returns the first job id, even after it finished', async () => {
    const input = sendReceipt.job({ invoiceId: 'in_1' }, { dedupeKey: 'receipt:in_1' });
    const first = await enqueueJobInSystemTx(t.database, input);
    const second = await enqueueJobInSystemTx(t.database, input);
    expect(second).toBe(first);
    await withSystemTx(t.database, (tx) => tx.update(jobs).set({ status: 'done' }));
    expect(await enqueueJobInSystemTx(t.database, input)).toBe(first);
    const other = await enqueueJobInSystemTx(
      t.database,
      sendReceipt.job({ invoiceId: 'in_2' }, { dedupeKey: 'receipt:in_2' }),
    );
    expect(other).not.toBe(first);
    expect((await allJobs(t.database)).map((j) => j.dedupeKey)).toEqual(['receipt:in_1', 'receipt:in_2']);
  });

  it('concurrent enqueues of one dedupe key create one job', async () => {
    const input = sendReceipt.job({ invoiceId: 'in_9' }, { dedupeKey: 'receipt:in_9' });
    const ids = await Promise.all(Array.from({ length: 8 }, () => enqueueJobInSystemTx(t.database, input)));
    expect(new Set(ids).size).toBe(1);
    expect(await allJobs(t.database)).toHaveLength(1);
  });

  it('inside a tenant transaction: commits and rolls back with the caller, and leaves the tenant role in place', async () => {
    await expect(
      withOrgTx(t.database, 'org_a', async (tx) => {
        await enqueueJob(tx, sendReceipt.job({ invoiceId: 'in_1' }));
        throw new Error('the use-case failed after enqueueing');
      }),
    ).rejects.toThrow('the use-case failed');
    expect(await allJobs(t.database)).toHaveLength(0);

    const after = await withOrgTx(t.database, 'org_a', async (tx) => {
      const id = await enqueueJob(tx, sendReceipt.job({ invoiceId: 'in_1' }));
      const role = (await tx.execute(sql`SELECT current_user AS role`)) as unknown as {
        rows: { role: string }[];
      };
      // Still tollgate_app: row-level security keeps hiding the platform-wide jobs table from tenant code.
      const visible = await tx.select().from(jobs);
      return { id, role: role.rows[0]?.role, visible: visible.length };
    });
    expect(after.role).toBe('tollgate_app');
    expect(after.visible).toBe(0);
    expect((await readJob(t.database, after.id)).payload).toEqual({ invoiceId: 'in_1' });
  });

  it('honours runAt and maxAttempts from the caller over the task default', async () => {
    const runAt = new Date('2031-05-01T12:00:00.000Z');
    const id = await enqueueJobInSystemTx(
      t.database,
      sendReceipt.job({ invoiceId: 'in_1' }, { runAt, maxAttempts: 7 }),
    );
    expect(await readJob(t.database, id)).toMatchObject({ runAt, maxAttempts: 7 });
  });

  it('refuses a payload that does not match the task schema at the call site', async () => {
    expect(() => sendReceipt.job({ invoiceId: 'ch_1' })).toThrow(InvalidJobPayloadError);
    // Validated in the JSON form the worker reads back: a Date becomes a string.
    const at = defineTask({ name: 'at', payload: z.object({ at: z.date() }), run: async () => {} });
    expect(() => at.job({ at: new Date() })).toThrow(/expected date/);
    await expect(
      enqueueJobInSystemTx(t.database, { task: 'x', payload: {}, maxAttempts: 0 }),
    ).rejects.toThrow(RangeError);
    expect(await allJobs(t.database)).toHaveLength(0);
  });
});
