/**
 * Decoder for Stripe's form encoding: `a[b][0][c]=v`, `expand[]=x`, `metadata[k]=v`.
 * Produces a tree of strings, arrays (from `[]`) and objects. Numeric indices (`items[0]`,
 * the SDK's format) stay object keys here; the parameter schema turns them into arrays,
 * because only the schema knows whether `metadata[0]` is a list element or a key.
 */
export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

function decode(s: string): string {
  if (s.indexOf('%') === -1 && s.indexOf('+') === -1) return s;
  const plus = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

function splitKey(key: string): string[] {
  const open = key.indexOf('[');
  if (open <= 0) return [key];
  const parts = [key.slice(0, open)];
  let i = open;
  while (i < key.length && key[i] === '[') {
    const close = key.indexOf(']', i);
    if (close === -1) break;
    parts.push(key.slice(i + 1, close));
    i = close + 1;
  }
  // Trailing garbage after the brackets (e.g. `a[b]c`) is kept as a literal key part.
  if (i < key.length) parts.push(key.slice(i));
  return parts;
}

function assign(target: FormObject | FormValue[], parts: string[], index: number, value: string): void {
  const part = parts[index]!;
  const last = index === parts.length - 1;
  if (Array.isArray(target)) {
    // `[]` segment: append, or continue filling the last element until a key repeats
    // (curl style `items[][price]=a&items[][quantity]=1&items[][price]=b`).
    if (last) {
      target.push(value);
      return;
    }
    const nextKey = parts[index + 1]!;
    let element = target[target.length - 1];
    if (
      element === undefined ||
      typeof element === 'string' ||
      Array.isArray(element) ||
      (index + 1 === parts.length - 1 && nextKey in element)
    ) {
      element = {};
      target.push(element);
    }
    assign(element, parts, index + 1, value);
    return;
  }
  if (last) {
    target[part] = value;
    return;
  }
  const wantsArray = parts[index + 1] === '';
  let child = target[part];
  if (child === undefined || typeof child === 'string' || (wantsArray && !Array.isArray(child))) {
    child = wantsArray ? [] : {};
    target[part] = child;
  }
  if (wantsArray) {
    assign(child as FormValue[], parts, index + 1, value);
  } else {
    assign(child as FormObject, parts, index + 1, value);
  }
}

export function parseForm(body: string): FormObject {
  const out: FormObject = {};
  if (!body) return out;
  for (const pair of body.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    const key = decode(rawKey);
    if (!key) continue;
    const parts = splitKey(key);
    if (parts.length === 1) {
      out[key] = decode(rawValue);
    } else {
      assign(out, parts, 0, decode(rawValue));
    }
  }
  return out;
}
