import { loadCatalog } from '../src/modules/catalog/loadCatalog.ts';
import { pushCatalog } from '../src/modules/catalog/pushCatalog.ts';
import type { TestApp } from './harness.ts';

/** Pushes the shipped catalog (tollgate.config.ts) into the test's emulator and database. */
export async function seedCatalog(t: TestApp) {
  const catalog = await loadCatalog();
  await pushCatalog(t.deps, catalog);
  return catalog;
}

/** Moves the server clock and the emulator's global clock forward together, running due work. */
export async function advanceBoth(t: TestApp, seconds: number) {
  t.emulator.control.advanceTime({ seconds });
  t.deps.clock.advance(seconds * 1000);
}
