/**
 * "At time T on clock C, run job J." Billing code (renewals, trial ends, payment retries,
 * incomplete expiry, invoice finalization an hour after creation) only schedules jobs:
 *
 *   export const finalizeInvoice = defineJob<{ invoice: string }>('invoice.finalize', (ctx, p) => { ... });
 *   scheduleJob(ctx, finalizeInvoice, { clock: testClockOf(ctx, invoice), at: created + 3600, payload: { invoice: id },
 *                key: `finalize:${id}` });
 *
 * Jobs run when their clock reaches T: for a test clock when it is advanced; for the global
 * clock when the control API advances it or wall time passes (a 1 s ticker). Due jobs run in
 * (time, scheduling order), with the clock pinned to the job's time; a job may schedule more
 * jobs, which run in the same advance if they are due. Payloads must be plain JSON because
 * jobs are part of a snapshot. Handlers are synchronous so a job sees consistent state.
 */
import type { Emulator } from './context.ts';

export interface Job {
  id: number;
  kind: string;
  /** Test clock id, or null for the global clock. */
  clock: string | null;
  at: number;
  payload: unknown;
  /** Optional dedupe key: scheduling with a key replaces the pending job with that key. */
  key?: string;
}

export interface JobDef<P> {
  kind: string;
  run: (ctx: Emulator, payload: P, job: Job) => void;
}

const jobDefs = new Map<string, JobDef<never>>();

export function defineJob<P>(kind: string, run: (ctx: Emulator, payload: P, job: Job) => void): JobDef<P> {
  const def: JobDef<P> = { kind, run };
  jobDefs.set(kind, def as JobDef<never>);
  return def;
}

export function scheduleJob<P>(
  ctx: Emulator,
  def: JobDef<P>,
  opts: { clock: string | null; at: number; payload: P; key?: string },
): Job {
  return ctx.scheduler.add({
    kind: def.kind,
    clock: opts.clock,
    at: opts.at,
    payload: opts.payload,
    key: opts.key,
  });
}

export interface JobFailure {
  job: Job;
  error: string;
}

export class Scheduler {
  private jobs: Job[] = [];
  private nextId = 1;
  /** Errors thrown by jobs; a broken job must not stop time, but tests want to see it. */
  failures: JobFailure[] = [];

  add(job: Omit<Job, 'id'>): Job {
    if (job.key !== undefined) this.cancel(job.key);
    const full: Job = { ...job, id: this.nextId++ };
    // Keep sorted by (at, id): binary search for the insertion point.
    let lo = 0;
    let hi = this.jobs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const other = this.jobs[mid]!;
      if (other.at < full.at || (other.at === full.at && other.id < full.id)) lo = mid + 1;
      else hi = mid;
    }
    this.jobs.splice(lo, 0, full);
    return full;
  }

  cancel(key: string): boolean {
    const index = this.jobs.findIndex((j) => j.key === key);
    if (index === -1) return false;
    this.jobs.splice(index, 1);
    return true;
  }

  cancelWhere(predicate: (job: Job) => boolean): number {
    const before = this.jobs.length;
    this.jobs = this.jobs.filter((j) => !predicate(j));
    return before - this.jobs.length;
  }

  pending(clock?: string | null): Job[] {
    return clock === undefined ? [...this.jobs] : this.jobs.filter((j) => j.clock === clock);
  }

  /**
   * Run every job on `clock` due at or before `until`, in time order, including jobs that
   * the running jobs schedule. Each job sees now = max(its time, `from`), so an overdue job
   * never moves time backwards. Returns how many ran.
   */
  runDue(ctx: Emulator, clock: string | null, until: number, from = ctx.clock.now(clock)): number {
    let ran = 0;
    for (;;) {
      const index = this.jobs.findIndex((j) => j.clock === clock && j.at <= until);
      if (index === -1) return ran;
      const job = this.jobs.splice(index, 1)[0]!;
      const def = jobDefs.get(job.kind);
      ran++;
      if (!def) {
        this.failures.push({ job, error: `no job kind ${job.kind}` });
        continue;
      }
      try {
        ctx.clock.pin(clock, Math.max(job.at, from), () => {
          ctx.withRequest(null, () => def.run(ctx, job.payload as never, job));
        });
      } catch (err) {
        this.failures.push({ job, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      }
      if (ran > 100_000)
        throw new Error('scheduler: more than 100000 jobs in one advance (a job reschedules itself?)');
    }
  }

  dump(): { jobs: Job[]; nextId: number } {
    return { jobs: this.jobs, nextId: this.nextId };
  }

  load(data: { jobs: Job[]; nextId: number }): void {
    this.jobs = [...data.jobs].sort((a, b) => a.at - b.at || a.id - b.id);
    this.nextId = data.nextId;
    this.failures = [];
  }

  clear(): void {
    this.jobs = [];
    this.failures = [];
  }
}
