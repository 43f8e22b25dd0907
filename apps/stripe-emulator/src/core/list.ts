/**
 * List pagination with Stripe's cursor semantics. Callers pass rows already filtered and
 * sorted newest first (Table.sorted does that).
 */
import type Stripe from 'stripe';
import { invalidRequest, resourceMissing } from '../http/errors.ts';
import type { ListParams } from '../http/params.ts';
import type { ApiRequest } from '../http/router.ts';
import { errorName, type Row, type Table } from './store.ts';

export interface ListObject<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

/** A list object for a sub-resource embedded in another object (e.g. customer.tax_ids). */
export function listOf<T>(data: T[], url: string, hasMore = false): ListObject<T> {
  return { object: 'list', data, has_more: hasMore, url };
}

/** Newest-first position of a cursor id that may not be in the filtered rows. */
function cursorIndex<T extends Row>(
  rows: T[],
  id: string,
  table: Table<T, unknown> | undefined,
  param: string,
): number {
  const index = rows.findIndex((r) => r.id === id);
  if (index !== -1) return index;
  const cursor = table?.get(id);
  if (!cursor || !table) {
    throw resourceMissing(table ? errorName(table.def) : 'object', id, param);
  }
  // Not in this filtered page set: position it by (created, seq) among the rows.
  const seq = table.seqs.get(id) ?? 0;
  const created = cursor.created ?? 0;
  const after = rows.findIndex(
    (r) => (r.created ?? 0) < created || ((r.created ?? 0) === created && (table.seqs.get(r.id) ?? 0) < seq),
  );
  return after === -1 ? rows.length - 0.5 : after - 0.5;
}

export function paginate<T extends Row>(
  req: ApiRequest<ListParams>,
  rows: T[],
  table?: Table<T, unknown>,
): ListObject<T> {
  const limit = req.params.limit ?? 10;
  const { starting_after: after, ending_before: before } = req.params;
  if (after && before) {
    throw invalidRequest('You may only specify one of these parameters: ending_before, starting_after.');
  }
  if (after) {
    const start = Math.floor(cursorIndex(rows, after, table, 'starting_after')) + 1;
    const data = rows.slice(start, start + limit);
    return { object: 'list', data, has_more: start + limit < rows.length, url: req.url };
  }
  if (before) {
    const end = Math.ceil(cursorIndex(rows, before, table, 'ending_before'));
    const start = Math.max(0, end - limit);
    return { object: 'list', data: rows.slice(start, end), has_more: start > 0, url: req.url };
  }
  return { object: 'list', data: rows.slice(0, limit), has_more: rows.length > limit, url: req.url };
}

/** `created` filter: `{ gt, gte, lt, lte }` from p.range(). */
export function inRange(value: number, range: Stripe.RangeQueryParam | undefined): boolean {
  if (!range) return true;
  if (range.gt !== undefined && !(value > range.gt)) return false;
  if (range.gte !== undefined && !(value >= range.gte)) return false;
  if (range.lt !== undefined && !(value < range.lt)) return false;
  if (range.lte !== undefined && !(value <= range.lte)) return false;
  return true;
}
