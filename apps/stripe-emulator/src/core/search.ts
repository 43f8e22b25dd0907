/**
 * Stripe's search query language, the subset Tollgate and its tests use:
 *   email:'a@b.c'   name~'ann'   status:'active'   metadata['org']:'o_1'   created>1700000000
 *   -status:'canceled' (negation)   clauses joined with AND / OR (AND binds tighter).
 * A table exposes its searchable fields as functions of a row.
 */
import { invalidRequest } from '../http/errors.ts';
import type { ApiRequest } from '../http/router.ts';
import type { Row } from './store.ts';

export interface SearchResult<T> {
  object: 'search_result';
  data: T[];
  has_more: boolean;
  next_page: string | null;
  url: string;
  total_count?: number;
}

/** Field name -> value of a row. `metadata` returns the metadata map. */
export type SearchFields<T> = Record<string, (row: T) => unknown>;

interface Clause {
  negate: boolean;
  field: string;
  key?: string;
  op: ':' | '~' | '>' | '<' | '>=' | '<=';
  value: string | number | null;
}

const CLAUSE =
  /^\s*(-)?([a-z_.]+)(?:\[\s*(?:'([^']*)'|"([^"]*)")\s*\])?\s*(>=|<=|:|~|>|<)\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(-?\d+(?:\.\d+)?)|(null))\s*/;

function parseQuery(query: string): Clause[][] {
  const groups: Clause[][] = [[]];
  let rest = query.trim();
  if (!rest) throw invalidRequest('The search query is empty.', 'query');
  while (rest.length > 0) {
    const m = CLAUSE.exec(rest);
    if (!m) {
      throw invalidRequest(
        `We were unable to parse your search query. Try using the format \`metadata["key"]:"value"\` to query for metadata or \`key:"value"\` to query for other fields.`,
        'query',
      );
    }
    const raw = m[6] ?? m[7];
    const value = raw !== undefined ? raw.replace(/\\(.)/g, '$1') : m[8] !== undefined ? Number(m[8]) : null;
    groups[groups.length - 1]!.push({
      negate: m[1] === '-',
      field: m[2]!,
      key: m[3] ?? m[4],
      op: m[5] as Clause['op'],
      value,
    });
    rest = rest.slice(m[0].length);
    const joiner = /^(AND|OR)\s+/.exec(rest);
    if (joiner) {
      if (joiner[1] === 'OR') groups.push([]);
      rest = rest.slice(joiner[0].length);
    } else if (rest.length > 0) {
      throw invalidRequest(`We were unable to parse your search query near: ${rest.slice(0, 30)}`, 'query');
    }
  }
  return groups;
}

function matches(actual: unknown, clause: Clause): boolean {
  const { op, value } = clause;
  if (value === null) return actual === null || actual === undefined;
  if (op === '~') {
    return typeof actual === 'string' && actual.toLowerCase().includes(String(value).toLowerCase());
  }
  if (op === ':') {
    if (typeof actual === 'number') return actual === Number(value);
    if (typeof actual === 'boolean') return String(actual) === String(value);
    return typeof actual === 'string' && actual.toLowerCase() === String(value).toLowerCase();
  }
  const a = Number(actual);
  const b = Number(value);
  if (Number.isNaN(a) || Number.isNaN(b)) return false;
  return op === '>' ? a > b : op === '<' ? a < b : op === '>=' ? a >= b : a <= b;
}

export function compileQuery<T>(
  query: string,
  fields: SearchFields<T>,
  resource: string,
): (row: T) => boolean {
  const groups = parseQuery(query);
  for (const group of groups) {
    for (const clause of group) {
      if (!(clause.field in fields)) {
        throw invalidRequest(
          `Field \`${clause.field}\` is an unsupported search field for resource \`${resource}\`.`,
          'query',
        );
      }
      if (clause.op === '~' && typeof clause.value === 'string' && clause.value.length < 3) {
        throw invalidRequest('Substring (`~`) queries need at least 3 characters.', 'query');
      }
    }
  }
  return (row) =>
    groups.some((group) =>
      group.every((clause) => {
        let actual = fields[clause.field]!(row);
        if (clause.key !== undefined) {
          actual = (actual as Record<string, unknown> | null | undefined)?.[clause.key];
        }
        return matches(actual, clause) !== clause.negate;
      }),
    );
}

/**
 * Run a search route: filter `rows` (newest first) by `req.params.query`, paginate by the
 * opaque `page` token. `expand[]=total_count` adds the total like Stripe.
 */
export function searchRows<T extends Row>(
  req: ApiRequest<{ query: string; limit?: number; page?: string }>,
  rows: T[],
  fields: SearchFields<T>,
  resource: string,
): SearchResult<T> {
  const predicate = compileQuery(req.params.query, fields, resource);
  const hits = rows.filter(predicate);
  const limit = req.params.limit ?? 10;
  let offset = 0;
  if (req.params.page) {
    const decoded = Number(Buffer.from(req.params.page, 'base64url').toString());
    if (!Number.isInteger(decoded) || decoded < 0) throw invalidRequest('Invalid page token.', 'page');
    offset = decoded;
  }
  const data = hits.slice(offset, offset + limit);
  const hasMore = offset + limit < hits.length;
  const result: SearchResult<T> = {
    object: 'search_result',
    data,
    has_more: hasMore,
    next_page: hasMore ? Buffer.from(String(offset + limit)).toString('base64url') : null,
    url: req.url,
  };
  if (req.expand.includes('total_count')) {
    result.total_count = hits.length;
    req.expand = req.expand.filter((e) => e !== 'total_count');
  }
  return result;
}
