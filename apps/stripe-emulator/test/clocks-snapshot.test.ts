import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { emitEvent, testClockOf } from '../src/core/events.ts';
import { defineJob, scheduleJob } from '../src/core/scheduler.ts';
import { Customers } from '../src/resources/customers/tables.ts';
import { eventually, startTestEmulator, type TestEmulator } from './helpers.ts';

// A job like the billing engine will write: it runs at its time, sees that time as "now",
// may schedule a follow-up and emits an event with request: null.
const seen: { customer: string; now: number; step: number }[] = [];
const touchCustomer = defineJob<{ customer: string; step: number }>('test.touch_customer', (ctx, payload) => {
  const customer = ctx.store.of(Customers).get(payload.customer);
  if (!customer) return;
  const now = ctx.clock.now(testClockOf(ctx, customer));
  seen.push({ customer: payload.customer, now, step: payload.step });
  const next = ctx.store
    .of(Customers)
    .update(customer.id, { metadata: { ...customer.metadata, step: String(payload.step) } });
  emitEvent(ctx, 'customer.updated', next, { previousAttributes: { metadata: customer.metadata } });
  if (payload.step === 1) {
    scheduleJob(ctx, touchCustomer, {
      clock: testClockOf(ctx, customer),
      at: now + 86_400,
      payload: { customer: customer.id, step: 2 },
    });
  }
});

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(() => t.stop());

async function readyClock(id: string) {
  return eventually(async () => {
    const clock = await t.stripe.testHelpers.testClocks.retrieve(id);
    return clock.status === 'ready' ? clock : undefined;
  });
}

describe('test clocks', () => {
  test('create, advance (advancing -> ready), events, list, delete', async () => {
    const clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: 1_750_000_000, name: 'trial' });
    expect(clock).toMatchObject({
      object: 'test_helpers.test_clock',
      frozen_time: 1_750_000_000,
      name: 'trial',
      status: 'ready',
      livemode: false,
    });
    expect(clock.id).toMatch(/^clock_/);
    const advancing = await t.stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: 1_750_086_400 });
    expect(advancing.status).toBe('advancing');
    expect(advancing.status_details.advancing?.target_frozen_time).toBe(1_750_086_400);
    const ready = await readyClock(clock.id);
    expect(ready.frozen_time).toBe(1_750_086_400);
    const types = (await t.stripe.events.list({ type: 'test_helpers.test_clock.*', limit: 100 })).data
      .filter((e) => (e.data.object as { id: string }).id === clock.id)
      .map((e) => e.type)
      .reverse();
    expect(types).toEqual([
      'test_helpers.test_clock.created',
      'test_helpers.test_clock.advancing',
      'test_helpers.test_clock.ready',
    ]);
    const readyEvent = (await t.stripe.events.list({ type: 'test_helpers.test_clock.ready' })).data[0]!;
    expect(readyEvent.data.object).toMatchObject({ status: 'ready', frozen_time: 1_750_086_400 });
    await expect(
      t.stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: 1_700_000_000 }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'frozen_time' });
    expect((await t.stripe.testHelpers.testClocks.list()).data.map((c) => c.id)).toContain(clock.id);

    const customer = await t.stripe.customers.create({ test_clock: clock.id });
    expect(await t.stripe.testHelpers.testClocks.del(clock.id)).toMatchObject({ deleted: true });
    expect(await t.stripe.customers.retrieve(customer.id)).toMatchObject({ deleted: true });
  });

  test('scheduled jobs run in time order when the clock advances, at their own time', async () => {
    const clock = await t.stripe.testHelpers.testClocks.create({ frozen_time: 1_760_000_000 });
    const customer = await t.stripe.customers.create({ test_clock: clock.id });
    const ctx = t.emulator.ctx;
    scheduleJob(ctx, touchCustomer, {
      clock: clock.id,
      at: 1_760_003_600,
      payload: { customer: customer.id, step: 1 },
    });
    // A job on another clock must not run.
    scheduleJob(ctx, touchCustomer, { clock: null, at: 1, payload: { customer: 'cus_other', step: 9 } });
    await t.stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: 1_760_000_100 });
    await readyClock(clock.id);
    expect(seen.filter((s) => s.customer === customer.id)).toEqual([]);
    await t.stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: 1_760_200_000 });
    await readyClock(clock.id);
    expect(seen.filter((s) => s.customer === customer.id)).toEqual([
      { customer: customer.id, now: 1_760_003_600, step: 1 },
      { customer: customer.id, now: 1_760_090_000, step: 2 },
    ]);
    const updates = (await t.stripe.events.list({ type: 'customer.updated', limit: 100 })).data.filter(
      (e) => (e.data.object as Stripe.Customer).id === customer.id,
    );
    expect(updates.map((e) => e.created).sort()).toEqual([1_760_003_600, 1_760_090_000]);
    expect(updates.every((e) => e.request === null)).toBe(true);
    expect(t.emulator.control.jobFailures()).toEqual([]);
  });

  test('the global clock: advance runs due global jobs; time moves forward only', async () => {
    const customer = await t.stripe.customers.create({ email: 'global@example.com' });
    const before = t.emulator.control.now();
    scheduleJob(t.emulator.ctx, touchCustomer, {
      clock: null,
      at: before + 3 * 86_400,
      payload: { customer: customer.id, step: 3 },
    });
    const res = await fetch(`${t.emulator.url}/_emulator/advance`, {
      method: 'POST',
      body: JSON.stringify({ seconds: 86_400 }),
    });
    expect(((await res.json()) as { now: number }).now).toBeGreaterThanOrEqual(before + 86_400);
    expect(seen.some((s) => s.customer === customer.id)).toBe(false);
    const result = t.emulator.control.advanceTime({ seconds: 3 * 86_400 });
    expect(result.jobsRun).toBeGreaterThanOrEqual(1);
    expect(seen.find((s) => s.customer === customer.id)).toMatchObject({ now: before + 3 * 86_400, step: 3 });
    const time = (await (await fetch(`${t.emulator.url}/_emulator/time`)).json()) as { now: number };
    expect(time.now).toBeGreaterThanOrEqual(before + 4 * 86_400);
    // New objects are stamped with the advanced time.
    const later = await t.stripe.customers.create({});
    expect(later.created).toBeGreaterThanOrEqual(before + 4 * 86_400);
    expect(() => t.emulator.control.advanceTime({ to: before })).toThrow();
  });

  test('retry schedule settings round-trip through the control API', async () => {
    const res = await fetch(`${t.emulator.url}/_emulator/retry-schedule`, {
      method: 'POST',
      body: JSON.stringify({ days: [1, 3], end: 'unpaid', markUncollectible: true }),
    });
    expect(await res.json()).toEqual({ days: [1, 3], end: 'unpaid', markUncollectible: true });
    expect(t.emulator.ctx.settings.retrySchedule.days).toEqual([1, 3]);
    const snake = await fetch(`${t.emulator.url}/_emulator/retry-schedule`, {
      method: 'POST',
      body: JSON.stringify({ mark_uncollectible: false }),
    });
    expect(await snake.json()).toEqual({ days: [1, 3], end: 'unpaid', markUncollectible: false });
    const bad = await fetch(`${t.emulator.url}/_emulator/retry-schedule`, {
      method: 'POST',
      body: JSON.stringify({ end: 'explode' }),
    });
    expect(bad.status).toBe(400);
  });
});

describe('snapshots', () => {
  test('snapshot / reset / restore round trip over the control API', async () => {
    const customer = await t.stripe.customers.create({ email: 'snap@example.com', metadata: { keep: 'me' } });
    const snapshot = await (await fetch(`${t.emulator.url}/_emulator/snapshot`, { method: 'POST' })).json();
    await fetch(`${t.emulator.url}/_emulator/reset`, { method: 'POST' });
    await expect(t.stripe.customers.retrieve(customer.id)).rejects.toMatchObject({ statusCode: 404 });
    expect((await t.stripe.events.list()).data).toHaveLength(0);
    await fetch(`${t.emulator.url}/_emulator/restore`, { method: 'POST', body: JSON.stringify(snapshot) });
    expect(await t.stripe.customers.retrieve(customer.id)).toMatchObject({ metadata: { keep: 'me' } });
    expect((await t.stripe.events.list({ type: 'customer.created' })).data.length).toBeGreaterThan(0);
  });

  test('a snapshot file survives a restart: objects, clock offset, jobs and webhook secrets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emu-snap-'));
    const file = join(dir, 'state.json');
    try {
      const first = await startTestEmulator({ snapshotFile: file });
      const customer = await first.stripe.customers.create({ email: 'persist@example.com' });
      const endpoint = await first.stripe.webhookEndpoints.create({
        url: 'http://127.0.0.1:9/hook',
        enabled_events: ['*'],
      });
      first.emulator.control.advanceTime({ seconds: 10 * 86_400 });
      const nowBefore = first.emulator.control.now();
      scheduleJob(first.emulator.ctx, touchCustomer, {
        clock: null,
        at: nowBefore + 86_400,
        payload: { customer: customer.id, step: 7 },
      });
      await first.stop();

      const second = await startTestEmulator({ snapshotFile: file });
      try {
        expect(await second.stripe.customers.retrieve(customer.id)).toMatchObject({
          email: 'persist@example.com',
        });
        expect(second.emulator.control.now()).toBeGreaterThanOrEqual(nowBefore);
        expect(second.emulator.control.pendingJobs().map((j) => j.kind)).toContain('test.touch_customer');
        second.emulator.control.advanceTime({ seconds: 2 * 86_400 });
        expect(seen.find((s) => s.customer === customer.id && s.step === 7)).toBeTruthy();
        const list = await second.stripe.webhookEndpoints.list();
        expect(list.data.map((e) => e.id)).toContain(endpoint.id);
        expect(
          second.emulator.ctx.store
            .of((await import('../src/webhooks/dispatcher.ts')).WebhookEndpoints)
            .meta(endpoint.id)?.secret,
        ).toBe(endpoint.secret);
        // Ids keep being unique after a restore.
        const another = await second.stripe.customers.create({});
        expect(another.id).not.toBe(customer.id);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
