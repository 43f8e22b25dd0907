import type { ProjectionSnapshot, SemanticRow } from './repo.ts';

export type DifferenceKind = 'org' | 'subscription' | 'invoice' | 'payment' | 'refund' | 'payment_method';

/** One thing the projection said differently from Stripe before a sync. */
export interface SyncDifference {
  kind: DifferenceKind;
  id: string;
  change: 'added' | 'changed' | 'removed';
  /** Changed fields (field-level kinds: org and subscription). */
  fields?: string[];
  before: SemanticRow | null;
  after: SemanticRow | null;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function changedFields(before: SemanticRow, after: SemanticRow): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => !same(before[k], after[k])).sort();
}

/** Field-level: before/after carry only the fields that changed. */
function fieldDiff(kind: DifferenceKind, id: string, before: SemanticRow | null, after: SemanticRow | null) {
  if (!before || !after)
    return before || after
      ? [{ kind, id, change: before ? 'removed' : 'added', before, after } as SyncDifference]
      : [];
  const fields = changedFields(before, after);
  if (!fields.length) return [];
  const pick = (r: SemanticRow) => Object.fromEntries(fields.map((f) => [f, r[f] ?? null]));
  return [
    { kind, id, change: 'changed', fields, before: pick(before), after: pick(after) } as SyncDifference,
  ];
}

/** Row-level: a changed row is reported whole (with the names of the fields that moved). */
function rowDiff(kind: DifferenceKind, before: Map<string, SemanticRow>, after: Map<string, SemanticRow>) {
  const out: SyncDifference[] = [];
  for (const [id, a] of after) {
    const b = before.get(id);
    if (!b) out.push({ kind, id, change: 'added', before: null, after: a });
    else if (!same(a, b))
      out.push({ kind, id, change: 'changed', fields: changedFields(b, a), before: b, after: a });
  }
  for (const [id, b] of before)
    if (!after.has(id)) out.push({ kind, id, change: 'removed', before: b, after: null });
  return out;
}

/** What a sync changed: field-level for the org and its subscriptions, row-level for the rest. */
export function diffProjection(orgId: string, before: ProjectionSnapshot, after: ProjectionSnapshot) {
  const subIds = new Set([...before.subscriptions.keys(), ...after.subscriptions.keys()]);
  return [
    ...fieldDiff('org', orgId, before.org, after.org),
    ...[...subIds].flatMap((id) =>
      fieldDiff(
        'subscription',
        id,
        before.subscriptions.get(id) ?? null,
        after.subscriptions.get(id) ?? null,
      ),
    ),
    ...rowDiff('invoice', before.invoices, after.invoices),
    ...rowDiff('payment', before.payments, after.payments),
    ...rowDiff('refund', before.refunds, after.refunds),
    ...rowDiff('payment_method', before.paymentMethods, after.paymentMethods),
  ];
}
