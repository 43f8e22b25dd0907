/**
 * In-memory state. One `Table` per Stripe object type, declared by the module that owns it
 * with `defineTable<Stripe.X>({ object, prefix })`. Rows are the API shape exactly as the
 * SDK types them (references to other objects are ids); bookkeeping the API must not show
 * lives in `table.meta(id)`, so rendering never has to strip fields.
 *
 * Rows are replaced, not mutated, on update (`table.update`) so that event snapshots and
 * idempotent replays taken earlier keep the old state.
 */
import { resourceMissing } from '../http/errors.ts';
import { newId } from './ids.ts';

export interface Row {
  id: string;
  object: string;
  created?: number;
}

export interface TableDef<T extends Row, M = Record<string, unknown>> {
  /** Stripe's `object` value: 'customer', 'payment_intent', 'test_helpers.test_clock'. */
  object: string;
  /** Id prefix without the underscore ('cus'). Empty for caller-chosen ids (coupons). */
  prefix: string;
  /** Human name for errors: "No such <name>: 'x'". Defaults to `object` with `_` as space. */
  name?: string;
  /** Phantom types. */
  readonly _row?: T;
  readonly _meta?: M;
}

const registry = new Map<string, TableDef<Row, unknown>>();

/** Declare a table. Call once at module scope; the definition is the handle used everywhere. */
export function defineTable<T extends Row, M = Record<string, unknown>>(
  def: Omit<TableDef<T, M>, '_row' | '_meta'>,
): TableDef<T, M> {
  const existing = registry.get(def.object);
  if (existing) return existing as TableDef<T, M>;
  registry.set(def.object, def as TableDef<Row, unknown>);
  return def as TableDef<T, M>;
}

export function tableDefs(): TableDef<Row, unknown>[] {
  return [...registry.values()];
}

export function errorName(def: TableDef<Row, unknown>): string {
  return def.name ?? def.object.replace(/^test_helpers\./, '').replace(/_/g, ' ');
}

export class Table<T extends Row, M = Record<string, unknown>> {
  readonly def: TableDef<T, M>;
  rows = new Map<string, T>();
  metas = new Map<string, M>();
  /** Insertion sequence, the tie-breaker for "newest first" when `created` is equal. */
  seqs = new Map<string, number>();
  /** Ids that existed and were deleted (Stripe answers `{ id, object, deleted: true }` for some). */
  deleted = new Set<string>();
  private store: Store;

  constructor(def: TableDef<T, M>, store: Store) {
    this.def = def;
    this.store = store;
  }

  newId(): string {
    return newId(this.def.prefix);
  }

  get(id: string): T | undefined {
    return this.rows.get(id);
  }

  /** The row, or Stripe's 404 "No such <name>: 'id'" with `param` (default "id"). */
  require(id: string, param = 'id'): T {
    const row = this.rows.get(id);
    if (!row) throw resourceMissing(errorName(this.def as TableDef<Row, unknown>), id, param);
    return row;
  }

  has(id: string): boolean {
    return this.rows.has(id);
  }

  insert(row: T, meta?: M): T {
    this.rows.set(row.id, row);
    this.seqs.set(row.id, this.store.nextSeq());
    if (meta !== undefined) this.metas.set(row.id, meta);
    return row;
  }

  /** Replace the row with `{ ...old, ...patch }` and return the new row. */
  update(id: string, patch: Partial<T>): T {
    const old = this.rows.get(id);
    if (!old) throw new Error(`update of missing ${this.def.object} ${id}`);
    const next = { ...old, ...patch };
    this.rows.set(id, next);
    return next;
  }

  /** Replace the whole row (when the caller built the new version itself). */
  replace(row: T): T {
    this.rows.set(row.id, row);
    return row;
  }

  delete(id: string): T | undefined {
    const row = this.rows.get(id);
    this.rows.delete(id);
    this.metas.delete(id);
    this.seqs.delete(id);
    if (row) this.deleted.add(id);
    return row;
  }

  meta(id: string): M | undefined {
    return this.metas.get(id);
  }

  setMeta(id: string, meta: M): void {
    this.metas.set(id, meta);
  }

  /** All rows, newest first (created desc, then insertion desc). */
  sorted(filter?: (row: T) => boolean): T[] {
    const out: T[] = [];
    for (const row of this.rows.values()) if (!filter || filter(row)) out.push(row);
    const seqs = this.seqs;
    out.sort((a, b) => (b.created ?? 0) - (a.created ?? 0) || seqs.get(b.id)! - seqs.get(a.id)!);
    return out;
  }

  values(): IterableIterator<T> {
    return this.rows.values();
  }

  get size(): number {
    return this.rows.size;
  }
}

export interface TableDump {
  rows: Row[];
  metas: [string, unknown][];
  seqs: [string, number][];
  deleted: string[];
}

export class Store {
  private tables = new Map<string, Table<Row, unknown>>();
  private seq = 0;

  nextSeq(): number {
    return ++this.seq;
  }

  /** The table for a definition, created on first use. */
  of<T extends Row, M>(def: TableDef<T, M>): Table<T, M> {
    let table = this.tables.get(def.object);
    if (!table) {
      table = new Table(def as TableDef<Row, unknown>, this);
      this.tables.set(def.object, table);
    }
    return table as unknown as Table<T, M>;
  }

  /** Find any object by id, using the id prefix first (for expansion of references). */
  findById(id: string): { table: Table<Row, unknown>; row: Row } | undefined {
    const underscore = id.lastIndexOf('_');
    // Try the longest matching prefix first so `sub_sched_x` is not looked up as `sub_`.
    let best: Table<Row, unknown> | undefined;
    let bestLength = -1;
    for (const table of this.tables.values()) {
      const prefix = table.def.prefix;
      if (prefix && underscore > 0 && id.startsWith(`${prefix}_`) && prefix.length > bestLength) {
        best = table;
        bestLength = prefix.length;
      }
    }
    const row = best?.get(id);
    if (best && row) return { table: best, row };
    for (const table of this.tables.values()) {
      const found = table.get(id);
      if (found) return { table, row: found };
    }
    return undefined;
  }

  isDeleted(id: string): Table<Row, unknown> | undefined {
    for (const table of this.tables.values()) if (table.deleted.has(id)) return table;
    return undefined;
  }

  clear(): void {
    this.tables.clear();
    this.seq = 0;
  }

  dump(): { seq: number; tables: Record<string, TableDump> } {
    const tables: Record<string, TableDump> = {};
    for (const [name, table] of this.tables) {
      tables[name] = {
        rows: [...table.rows.values()],
        metas: [...table.metas.entries()],
        seqs: [...table.seqs.entries()],
        deleted: [...table.deleted],
      };
    }
    return { seq: this.seq, tables };
  }

  load(dump: { seq: number; tables: Record<string, TableDump> }): void {
    this.clear();
    this.seq = dump.seq;
    for (const [object, data] of Object.entries(dump.tables)) {
      const def =
        tableDefs().find((d) => d.object === object) ??
        // A table whose module is not loaded still round-trips through a snapshot.
        ({ object, prefix: '' } as TableDef<Row, unknown>);
      const table = this.of(def);
      for (const row of data.rows) table.rows.set(row.id, row);
      table.metas = new Map(data.metas);
      table.seqs = new Map(data.seqs);
      table.deleted = new Set(data.deleted);
    }
  }
}
