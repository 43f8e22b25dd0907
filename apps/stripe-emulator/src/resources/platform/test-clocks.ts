/**
 * /v1/test_helpers/test_clocks. Advancing is asynchronous like Stripe: the call answers
 * `status: advancing`, then (next macrotask) every job scheduled on the clock up to the
 * target runs in time order, frozen_time moves to the target and the clock becomes `ready`.
 * Clients poll retrieve until ready (or wait for `test_helpers.test_clock.ready`).
 */
import type Stripe from 'stripe';
import { TestClocks } from '../../core/clock.ts';
import type { Emulator } from '../../core/context.ts';
import { emitEvent } from '../../core/events.ts';
import { defineHook, runHook } from '../../core/hooks.ts';
import { paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { invalidRequest } from '../../http/errors.ts';
import { p } from '../../http/params.ts';

/**
 * Runs before an advance starts; listeners may throw a StripeApiError to refuse it (e.g.
 * subscriptions: "cannot advance more than two intervals of the shortest subscription").
 */
export const testClockAdvanceRequested = defineHook<{ clock: Stripe.TestHelpers.TestClock; to: number }>(
  'test_clock.advance_requested',
);
/** After the clock reached its target and is ready again. */
export const testClockAdvanced = defineHook<{ clock: Stripe.TestHelpers.TestClock; from: number }>(
  'test_clock.advanced',
);
/** Before a clock is deleted: owners of objects on it delete them (customers do). */
export const testClockDeleting = defineHook<{ clock: Stripe.TestHelpers.TestClock }>('test_clock.deleting');

const THIRTY_DAYS = 30 * 24 * 3600;

function finishAdvance(ctx: Emulator, id: string, from: number, to: number): void {
  const table = ctx.store.of(TestClocks);
  if (!table.has(id)) return;
  let status: 'ready' | 'internal_failure' = 'ready';
  try {
    ctx.withRequest(null, () => ctx.scheduler.runDue(ctx, id, to, from));
  } catch (err) {
    ctx.log('test clock advance failed', { clock: id, error: String(err) });
    status = 'internal_failure';
  }
  if (!table.has(id)) return;
  const clock = table.update(id, { frozen_time: to, status, status_details: {} });
  ctx.withRequest(null, () => {
    emitEvent(
      ctx,
      status === 'ready' ? 'test_helpers.test_clock.ready' : 'test_helpers.test_clock.internal_failure',
      clock,
      { clock: null },
    );
    runHook(ctx, testClockAdvanced, { clock, from });
  });
}

export const testClocksModule: EmulatorModule = {
  name: 'test_clocks',
  register(app) {
    app.post(
      '/v1/test_helpers/test_clocks',
      { frozen_time: p.required(p.timestamp()), name: p.string({ maxLength: 300 }) },
      (req) => {
        const table = req.ctx.store.of(TestClocks);
        const created = req.ctx.clock.now();
        const clock = table.insert({
          id: table.newId(),
          object: 'test_helpers.test_clock',
          created,
          deletes_after: created + THIRTY_DAYS,
          frozen_time: req.params.frozen_time,
          livemode: false,
          name: req.params.name ?? null,
          status: 'ready',
          status_details: {},
        });
        emitEvent(req.ctx, 'test_helpers.test_clock.created', clock, { clock: null });
        return clock;
      },
    );

    app.get('/v1/test_helpers/test_clocks/:id', {}, (req) =>
      req.ctx.store.of(TestClocks).require(req.path.id!),
    );

    app.list('/v1/test_helpers/test_clocks', {}, (req) => {
      const table = req.ctx.store.of(TestClocks);
      return paginate(req, table.sorted(), table);
    });

    app.del('/v1/test_helpers/test_clocks/:id', {}, (req) => {
      const table = req.ctx.store.of(TestClocks);
      const clock = table.require(req.path.id!);
      runHook(req.ctx, testClockDeleting, { clock });
      req.ctx.scheduler.cancelWhere((job) => job.clock === clock.id);
      table.delete(clock.id);
      emitEvent(req.ctx, 'test_helpers.test_clock.deleted', clock, { clock: null });
      return { id: clock.id, object: 'test_helpers.test_clock', deleted: true };
    });

    app.post(
      '/v1/test_helpers/test_clocks/:id/advance',
      { frozen_time: p.required(p.timestamp()) },
      (req) => {
        const { ctx } = req;
        const table = ctx.store.of(TestClocks);
        const clock = table.require(req.path.id!);
        const to = req.params.frozen_time;
        if (clock.status === 'advancing') {
          throw invalidRequest(
            'The test clock is already advancing. Wait for it to be ready before advancing it again.',
            undefined,
            'test_clock_advancing',
          );
        }
        if (to <= clock.frozen_time) {
          throw invalidRequest(
            `The frozen_time (${to}) must be after the test clock's current frozen_time (${clock.frozen_time}).`,
            'frozen_time',
          );
        }
        runHook(ctx, testClockAdvanceRequested, { clock, to });
        const advancing = table.update(clock.id, {
          status: 'advancing',
          status_details: { advancing: { target_frozen_time: to } },
        });
        emitEvent(ctx, 'test_helpers.test_clock.advancing', advancing, { clock: null });
        const from = clock.frozen_time;
        setImmediate(() => finishAdvance(ctx, clock.id, from, to));
        return advancing;
      },
    );
  },
};
