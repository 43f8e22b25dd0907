/**
 * The benchmark's measuring function (bench/emulator) works: it sends what it says, counts
 * what completed and failed, and its percentiles are ordered. No timing assertions here —
 * speed is measured by `npm run bench -- emulator`, never in tests.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { measureCreates, percentile } from '../../../bench/emulator/measure.ts';
import { Customers } from '../src/resources/customers/tables.ts';
import { startTestEmulator, type TestEmulator } from './helpers.ts';

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.stop());

test('measureCreates sends the requested creates through the SDK and reports latencies', async () => {
  const customersBefore = t.emulator.ctx.store.of(Customers).size;
  const m = await measureCreates({ stripe: t.stripe, total: 500, concurrency: 16 });
  expect(m).toMatchObject({ completed: 500, errors: 0, timedOut: false });
  expect(m.throughput).toBeGreaterThan(0);
  expect(m.p50Ms).toBeGreaterThan(0);
  expect(m.p50Ms).toBeLessThanOrEqual(m.p99Ms);
  expect(m.p99Ms).toBeLessThanOrEqual(m.maxMs);
  // Half customers, half products, all really created.
  const customers = await t.stripe.customers.list({ limit: 1 });
  expect(customers.data[0]?.email).toMatch(/^bench\d+@example\.com$/);
  expect(t.emulator.ctx.store.of(Customers).size - customersBefore).toBe(250);
  expect((await t.stripe.products.list({ limit: 100 })).data).toHaveLength(100);
});

test('measureCreates counts failures instead of throwing', async () => {
  const m = await measureCreates({ stripe: t.client('sk_live_nope'), total: 20, concurrency: 4 });
  expect(m).toMatchObject({ completed: 0, errors: 20 });
});

test('percentile uses the nearest rank', () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  expect(percentile(values, 0.5)).toBe(50);
  expect(percentile(values, 0.99)).toBe(99);
  expect(percentile([], 0.5)).toBe(0);
});
