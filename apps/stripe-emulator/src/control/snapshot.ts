/**
 * Snapshot = the whole emulated account as JSON: store tables, scheduler jobs, clock offset
 * and settings. Idempotency keys, faults and the delivery log are not kept (they describe
 * connections, not the account). Written atomically (temp file + rename).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Emulator, Settings } from '../core/context.ts';
import type { Job } from '../core/scheduler.ts';
import type { TableDump } from '../core/store.ts';

export interface EmulatorSnapshot {
  format: 'tollgate-stripe-emulator/1';
  savedAt: number;
  clockOffset: number;
  settings: Settings;
  store: { seq: number; tables: Record<string, TableDump> };
  scheduler: { jobs: Job[]; nextId: number };
}

export function takeSnapshot(ctx: Emulator): EmulatorSnapshot {
  return {
    format: 'tollgate-stripe-emulator/1',
    savedAt: Date.now(),
    clockOffset: ctx.clock.offset,
    settings: ctx.settings,
    store: ctx.store.dump(),
    scheduler: ctx.scheduler.dump(),
  };
}

export function applySnapshot(ctx: Emulator, snapshot: EmulatorSnapshot): void {
  if (snapshot?.format !== 'tollgate-stripe-emulator/1') throw new Error('not an emulator snapshot');
  ctx.store.load(snapshot.store);
  ctx.scheduler.load(snapshot.scheduler);
  ctx.clock.offset = snapshot.clockOffset;
  ctx.settings = structuredClone(snapshot.settings);
}

export function writeSnapshotFile(file: string, snapshot: EmulatorSnapshot): void {
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, JSON.stringify(snapshot));
  renameSync(temp, file);
}

export function readSnapshotFile(file: string): EmulatorSnapshot | null {
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as EmulatorSnapshot;
}
