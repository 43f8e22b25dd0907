/**
 * Time. There is one global emulator clock (wall time + an offset the control API can
 * advance) and any number of Stripe test clocks (frozen times stored in the TestClocks table).
 * Every "now" in the emulator goes through `clock.now(clockId)`:
 *   - `clockId` null/undefined -> the global clock;
 *   - a `clock_...` id -> that test clock's frozen_time.
 * While the scheduler runs a job it pins that clock's now to the job's time (`pin`), so code
 * run from a job sees the moment it was scheduled for, not the end of the advance.
 */
import type Stripe from 'stripe';
import { defineTable, type Store } from './store.ts';

export const TestClocks = defineTable<Stripe.TestHelpers.TestClock>({
  object: 'test_helpers.test_clock',
  prefix: 'clock',
  name: 'test clock',
});

export class Clock {
  /** Seconds added to wall time for the global clock. */
  offset = 0;
  private pins = new Map<string, number>();
  private store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  wallNow(): number {
    return Math.floor(Date.now() / 1000);
  }

  /** Unix seconds on the given clock (global when clockId is null/undefined). */
  now(clockId?: string | null): number {
    const key = clockId ?? '';
    const pinned = this.pins.get(key);
    if (pinned !== undefined) return pinned;
    if (!clockId) return this.wallNow() + this.offset;
    const testClock = this.store.of(TestClocks).get(clockId);
    // A deleted test clock's objects are gone too; fall back to global time for stragglers.
    return testClock ? testClock.frozen_time : this.wallNow() + this.offset;
  }

  /** Run `fn` with `clockId`'s now pinned to `time` (used by the scheduler). */
  pin<T>(clockId: string | null, time: number, fn: () => T): T {
    const key = clockId ?? '';
    const previous = this.pins.get(key);
    this.pins.set(key, time);
    try {
      return fn();
    } finally {
      if (previous === undefined) this.pins.delete(key);
      else this.pins.set(key, previous);
    }
  }
}
