/**
 * A tiny declarative validator for Stripe parameters (form-decoded trees of strings).
 * Faster than a general schema library on this hot path, and it produces Stripe's own
 * error shapes: `parameter_unknown` with `param` like `card[foo]`, `parameter_missing`,
 * `parameter_invalid_integer`, the empty-string-cannot-be-unset message.
 *
 *   const createParams = p.object({
 *     amount: p.required(p.int({ min: 0 })),
 *     currency: p.required(p.currency()),
 *     metadata: p.metadata(),
 *     description: p.emptyable(p.string()),   // '' -> null (clear the field)
 *   });
 *   type CreateParams = Infer<typeof createParams>;
 *
 * Fields are optional unless wrapped in `p.required`.
 */
import {
  invalidRequest,
  parameterInvalid,
  parameterMissing,
  parameterUnknown,
  type StripeApiError,
} from './errors.ts';
import type { FormObject, FormValue } from './form.ts';

export interface Schema<T, Req extends boolean = false> {
  readonly required: Req;
  /** `path` is the Stripe param name for errors: `items[0][price]`. */
  parse(value: FormValue | undefined, path: string): T;
  /** True when '' is accepted (meaning: clear the field). */
  readonly emptyable?: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: schema variance needs an open type here
export type AnySchema = Schema<any, boolean>;
export type Infer<S> = S extends Schema<infer T, boolean> ? T : never;
export type Shape = Record<string, AnySchema>;
type RequiredKeys<S extends Shape> = {
  [K in keyof S]: S[K] extends Schema<unknown, true> ? K : never;
}[keyof S];
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type InferShape<S extends Shape> = Simplify<
  { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in Exclude<keyof S, RequiredKeys<S>>]?: Infer<S[K]> }
>;

function child(path: string, key: string | number): string {
  return path ? `${path}[${key}]` : String(key);
}

function emptyStringError(path: string): StripeApiError {
  return invalidRequest(
    `You passed an empty string for '${path}'. We assume empty values are an attempt to unset a parameter; however '${path}' cannot be unset. You should remove '${path}' from your request or supply a non-empty value.`,
    path,
    'parameter_invalid_empty',
  );
}

function scalar<T>(path: string, value: FormValue | undefined, kind: string): string {
  if (typeof value !== 'string') {
    throw parameterInvalid(
      `Invalid ${kind}: expected a single value for ${path}`,
      path,
      `parameter_invalid_${kind}`,
    );
  }
  if (value === '') throw emptyStringError(path);
  return value as T & string;
}

function make<T>(parse: (value: FormValue | undefined, path: string) => T): Schema<T, false> {
  return { required: false, parse };
}

/** The keys of a form object whose values form an array: `0`, `1`, ... */
function toArray(value: FormValue): FormValue[] | null {
  if (Array.isArray(value)) return value;
  if (typeof value !== 'object') return null;
  const keys = Object.keys(value);
  if (!keys.every((k) => /^\d+$/.test(k))) return null;
  return keys.sort((a, b) => Number(a) - Number(b)).map((k) => value[k]!);
}

export const p = {
  string(opts: { maxLength?: number } = {}): Schema<string> {
    return make((v, path) => {
      const s = scalar<string>(path, v, 'string');
      if (opts.maxLength !== undefined && s.length > opts.maxLength) {
        throw parameterInvalid(
          `Invalid string: ${s.slice(0, 20)}...; must be at most ${opts.maxLength} characters`,
          path,
        );
      }
      return s;
    });
  },

  /** Three-letter ISO code, lower-cased like Stripe stores it. */
  currency(): Schema<string> {
    return make((v, path) => {
      const s = scalar<string>(path, v, 'string').toLowerCase();
      if (!/^[a-z]{3}$/.test(s))
        throw invalidRequest(`Invalid currency: ${s}.`, path, 'parameter_invalid_string');
      return s;
    });
  },

  int(opts: { min?: number; max?: number } = {}): Schema<number> {
    return make((v, path) => {
      const s = scalar<string>(path, v, 'integer');
      if (!/^-?\d+$/.test(s))
        throw parameterInvalid(`Invalid integer: ${s}`, path, 'parameter_invalid_integer');
      const n = Number(s);
      if (opts.min !== undefined && n < opts.min) {
        throw parameterInvalid(
          `Invalid integer: ${s}; must be at least ${opts.min}`,
          path,
          'parameter_invalid_integer',
        );
      }
      if (opts.max !== undefined && n > opts.max) {
        throw parameterInvalid(
          `Invalid integer: ${s}; must be at most ${opts.max}`,
          path,
          'parameter_invalid_integer',
        );
      }
      return n;
    });
  },

  /** Non-integer numbers (percent_off). */
  number(opts: { min?: number; max?: number } = {}): Schema<number> {
    return make((v, path) => {
      const s = scalar<string>(path, v, 'float');
      const n = Number(s);
      if (!Number.isFinite(n) || !/^-?\d*\.?\d+$/.test(s)) {
        throw parameterInvalid(`Invalid decimal: ${s}`, path, 'parameter_invalid_float');
      }
      if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
        throw parameterInvalid(`Invalid decimal: ${s}; out of range`, path, 'parameter_invalid_float');
      }
      return n;
    });
  },

  /** Decimal kept as its string (unit_amount_decimal), validated. */
  decimal(): Schema<string> {
    return make((v, path) => {
      const s = scalar<string>(path, v, 'string');
      if (!/^-?\d*\.?\d+$/.test(s))
        throw parameterInvalid(`Invalid decimal: ${s}`, path, 'parameter_invalid_float');
      return s;
    });
  },

  bool(): Schema<boolean> {
    return make((v, path) => {
      const s = scalar<string>(path, v, 'boolean');
      if (s === 'true') return true;
      if (s === 'false') return false;
      throw parameterInvalid(`Invalid boolean: ${s}`, path, 'parameter_invalid_boolean');
    });
  },

  enum<const T extends string>(values: readonly T[]): Schema<T> {
    const allowed = new Set<string>(values);
    return make((v, path) => {
      const s = scalar<string>(path, v, 'string');
      if (!allowed.has(s)) {
        const list =
          values.length > 1
            ? `${values.slice(0, -1).join(', ')}, or ${values[values.length - 1]}`
            : values[0];
        throw parameterInvalid(`Invalid ${path}: must be one of ${list}`, path);
      }
      return s as T;
    });
  },

  /** Unix timestamp, or the literal `now` where Stripe allows it. */
  timestamp<const N extends boolean = false>(
    opts: { allowNow?: N } = {},
  ): Schema<N extends true ? number | 'now' : number> {
    return make((v, path) => {
      const s = scalar<string>(path, v, 'integer');
      if (opts.allowNow && s === 'now') return 'now' as never;
      if (!/^\d+$/.test(s))
        throw parameterInvalid(`Invalid timestamp: ${s}`, path, 'parameter_invalid_integer');
      return Number(s) as never;
    });
  },

  object<S extends Shape>(shape: S): Schema<InferShape<S>> & { shape: S } {
    const keys = Object.keys(shape);
    return {
      required: false,
      shape,
      parse(v, path) {
        if (v === undefined) v = {};
        if (typeof v !== 'object' || Array.isArray(v)) {
          if (v === '') throw emptyStringError(path);
          throw parameterInvalid(`Invalid object`, path, 'parameter_invalid_object');
        }
        const input = v as FormObject;
        for (const key in input) {
          if (!(key in shape)) throw parameterUnknown(child(path, key));
        }
        const out: Record<string, unknown> = {};
        for (const key of keys) {
          const schema = shape[key]!;
          const value = input[key];
          if (value === undefined) {
            if (schema.required) throw parameterMissing(child(path, key));
            continue;
          }
          out[key] = schema.parse(value, child(path, key));
        }
        return out as InferShape<S>;
      },
    };
  },

  array<T>(item: Schema<T, boolean>, opts: { max?: number } = {}): Schema<T[]> {
    return make((v, path) => {
      if (v === undefined) return [];
      const list = toArray(v);
      if (!list) {
        if (v === '') throw emptyStringError(path);
        throw parameterInvalid(`Invalid array`, path, 'parameter_invalid_array');
      }
      if (opts.max !== undefined && list.length > opts.max) {
        throw parameterInvalid(
          `Invalid array: must have at most ${opts.max} elements`,
          path,
          'parameter_invalid_array',
        );
      }
      return list.map((element, i) => item.parse(element, child(path, i)));
    });
  },

  /** `metadata[k]=v`; '' for the whole param clears it (null), '' for one key removes it (null). */
  metadata(): Schema<Record<string, string | null> | null> {
    return {
      required: false,
      emptyable: true,
      parse(v, path) {
        if (v === '') return null;
        if (typeof v !== 'object' || Array.isArray(v) || v === undefined) {
          throw parameterInvalid(`Invalid object`, path, 'parameter_invalid_object');
        }
        const out: Record<string, string | null> = {};
        for (const key in v) {
          const value = v[key];
          if (typeof value !== 'string') throw parameterInvalid(`Invalid metadata value`, child(path, key));
          if (key.length > 40) {
            throw invalidRequest(`Metadata keys can have at most 40 characters.`, child(path, key));
          }
          if (value.length > 500) {
            throw invalidRequest(`Metadata values can have at most 500 characters.`, child(path, key));
          }
          out[key] = value === '' ? null : value;
        }
        return out;
      },
    };
  },

  /** Accepts '' as "clear this field" and returns null for it. */
  emptyable<T, R extends boolean>(schema: Schema<T, R>): Schema<T | null, R> {
    return {
      required: schema.required,
      emptyable: true,
      parse(v, path) {
        if (v === '') return null;
        return schema.parse(v, path);
      },
    };
  },

  required<T>(schema: Schema<T, boolean>): Schema<T, true> {
    return { ...schema, required: true, parse: schema.parse };
  },

  /** First schema that parses wins (e.g. `up_to`: integer or 'inf'). Errors come from the last. */
  union<A, B>(a: Schema<A, boolean>, b: Schema<B, boolean>): Schema<A | B> {
    return make((v, path) => {
      try {
        return a.parse(v, path);
      } catch {
        return b.parse(v, path);
      }
    });
  },

  literal<const T extends string>(value: T): Schema<T> {
    return p.enum([value]);
  },

  /** Free-form passthrough for parameters the emulator accepts but ignores. */
  any(): Schema<FormValue> {
    return make((v) => v as FormValue);
  },

  /** `created=123` or `created[gte]=...&created[lt]=...`. */
  range(): Schema<{ gt?: number; gte?: number; lt?: number; lte?: number }> {
    const int = p.int();
    const obj = p.object({ gt: int, gte: int, lt: int, lte: int });
    return make((v, path) => {
      if (typeof v === 'string') {
        const n = int.parse(v, path);
        return { gte: n, lte: n };
      }
      return obj.parse(v, path);
    });
  },
};

/** Pagination params that every list route accepts (merged into its schema by the router). */
export const listParams = {
  limit: p.int({ min: 1, max: 100 }),
  starting_after: p.string(),
  ending_before: p.string(),
};

export const searchParams = {
  query: p.required(p.string()),
  limit: p.int({ min: 1, max: 100 }),
  page: p.string(),
};

export type ListParams = { limit?: number; starting_after?: string; ending_before?: string };
