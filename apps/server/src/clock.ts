/**
 * The one source of "now" on the server. Production uses wall time; tests and the demo advance
 * it together with the emulator's clock so trials, renewals and expiry happen without waiting.
 */
export interface Clock {
  now(): Date;
  nowMs(): number;
  /** Moves this clock forward; only for tests and demo mode. */
  advance(ms: number): void;
  /** Sets the offset so that now() equals `to` (never backwards). */
  setTo(to: Date): void;
}

export function createClock(startOffsetMs = 0): Clock {
  let offset = startOffsetMs;
  const nowMs = () => Date.now() + offset;
  return {
    now: () => new Date(nowMs()),
    nowMs,
    advance(ms) {
      if (ms < 0) throw new Error('the clock only moves forward');
      offset += ms;
    },
    setTo(to) {
      const delta = to.getTime() - nowMs();
      if (delta > 0) offset += delta;
    },
  };
}
