/**
 * `expand[]`: replace id references with the objects they name, along dotted paths
 * (`latest_charge.payment_method`, `data.customer` on lists, `items.data.price`).
 * Copy-on-write: stored rows are never modified. Ids are resolved through the store by
 * prefix; a deleted object expands to its `{ id, object, deleted: true }` stub. Fields that
 * are not stored but computed (customer.subscriptions) come from virtual expansions.
 */
import { invalidRequest } from '../http/errors.ts';
import type { Emulator } from './context.ts';

const MAX_DEPTH = 4;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function cannotExpand(path: string): Error {
  return invalidRequest(`This property cannot be expanded (${path}).`, 'expand');
}

function resolveId(ctx: Emulator, id: string, path: string): unknown {
  const found = ctx.store.findById(id);
  if (found) return found.row;
  const deletedFrom = ctx.store.isDeleted(id);
  if (deletedFrom) return { id, object: deletedFrom.def.object, deleted: true };
  throw cannotExpand(path);
}

function expandAt(ctx: Emulator, value: unknown, segments: string[], index: number, path: string): unknown {
  if (index === segments.length) return value;
  if (Array.isArray(value)) return value.map((v) => expandAt(ctx, v, segments, index, path));
  if (!isObject(value)) return value;
  const key = segments[index]!;
  // Lists and search results: `data.x` applies to every element.
  if (
    (value.object === 'list' || value.object === 'search_result') &&
    key === 'data' &&
    Array.isArray(value.data)
  ) {
    return { ...value, data: value.data.map((v) => expandAt(ctx, v, segments, index + 1, path)) };
  }
  const currentPath = segments.slice(0, index + 1).join('.');
  let current = value[key];
  if (current === undefined || current === null) {
    const virtual =
      typeof value.object === 'string' ? ctx.app.virtualExpansions.get(`${value.object}.${key}`) : undefined;
    if (virtual) current = virtual(ctx, value);
    else if (current === undefined) throw cannotExpand(currentPath);
    else return value;
  } else if (typeof current === 'string') {
    current = resolveId(ctx, current, currentPath);
  } else if (typeof current !== 'object') {
    throw cannotExpand(currentPath);
  } else if (Array.isArray(current)) {
    current = current.map((v) => (typeof v === 'string' ? resolveId(ctx, v, currentPath) : v));
  }
  return { ...value, [key]: expandAt(ctx, current, segments, index + 1, path) };
}

export function expand(ctx: Emulator, body: unknown, paths: string[]): unknown {
  let out = body;
  for (const path of paths) {
    const segments = path.split('.');
    const depth = segments.filter((s) => s !== 'data').length;
    if (depth > MAX_DEPTH) {
      throw invalidRequest(
        `You cannot expand more than ${MAX_DEPTH} levels of a property. Property: ${path}`,
        'expand',
      );
    }
    out = expandAt(ctx, out, segments, 0, path);
  }
  return out;
}
