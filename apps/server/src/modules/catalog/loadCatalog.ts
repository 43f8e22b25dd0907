import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Catalog, catalogSchema } from './catalogSchema.ts';

/** The shipped example at the repository root. */
export const DEFAULT_CATALOG_FILE = fileURLToPath(
  new URL('../../../../../tollgate.config.ts', import.meta.url),
);

export class CatalogError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid catalog (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'CatalogError';
  }
}

/** Validates a catalog object, listing every problem as `path: message`. */
export function parseCatalog(input: unknown, source = 'catalog'): Catalog {
  const parsed = catalogSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new CatalogError(
    source,
    parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`),
  );
}

/**
 * Imports the catalog file (TypeScript through tsx, or .js/.mjs/.json) and validates it.
 * Relative paths resolve against the working directory, like the other file settings.
 */
export async function loadCatalog(path: string = DEFAULT_CATALOG_FILE): Promise<Catalog> {
  const file = resolve(path);
  if (!existsSync(file)) throw new CatalogError(file, ['file not found']);
  let value: unknown;
  try {
    if (file.endsWith('.json')) value = JSON.parse(readFileSync(file, 'utf8'));
    else {
      const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
      value = mod.default;
    }
  } catch (err) {
    throw new CatalogError(file, [`could not be loaded: ${(err as Error).message}`]);
  }
  if (value === undefined)
    throw new CatalogError(file, ['no default export (export default defineCatalog({...}))']);
  return parseCatalog(value, file);
}

const loadedOnce = new Map<string, Promise<Catalog>>();

/**
 * The catalog file, read once per process and path (changing it means a restart, as for the
 * server, which validates it at start). A failed read is forgotten, so the next call retries.
 */
export function loadCatalogOnce(path: string = DEFAULT_CATALOG_FILE): Promise<Catalog> {
  let p = loadedOnce.get(path);
  if (!p) {
    p = loadCatalog(path);
    p.catch(() => loadedOnce.delete(path));
    loadedOnce.set(path, p);
  }
  return p;
}
