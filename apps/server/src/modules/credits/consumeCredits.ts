import { createHash } from 'node:crypto';
import type { Deps } from '../../deps.ts';
import { DomainError, validationFailed } from '../../http/errors.ts';
import { type ConsumedView, type ConsumeQueue, createConsumeQueue, type SqlItem } from './consumeQueue.ts';
import { type CreditRules, creditRules } from './creditRules.ts';
import { ensureFreeAllocation } from './ensureFreeAllocation.ts';
import { newConsumptionId } from './ledger.ts';

export interface ConsumeItem {
  event: string;
  quantity: number;
  idempotencyKey: string;
  metadata?: Record<string, string> | undefined;
}

const queues = new WeakMap<Deps['database'], ConsumeQueue>();

/** Tuning for the group commit; the defaults suit a small pool on a small machine. */
export const CONSUME_QUEUE_DEFAULTS = {
  postgres: { maxInFlight: 4, maxItems: 500 },
  pglite: { maxInFlight: 1, maxItems: 500 },
};

function queueFor(deps: Deps, rules: CreditRules): ConsumeQueue {
  let q = queues.get(deps.database);
  if (!q) {
    q = createConsumeQueue(deps, () => rules.precedence, CONSUME_QUEUE_DEFAULTS[deps.database.kind]);
    queues.set(deps.database, q);
  }
  return q;
}

/**
 * What makes two requests "the same" for idempotency: event, quantity and metadata (key order
 * ignored). The same key with another body is a 409, not a replay.
 */
export function requestHash(item: ConsumeItem): string {
  const meta = Object.entries(item.metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([item.event, item.quantity, meta]))
    .digest('base64url')
    .slice(0, 32);
}

function toSqlItem(rules: CreditRules, item: ConsumeItem, field: string): SqlItem {
  const cost = rules.usageEvents.get(item.event);
  if (cost === undefined)
    throw validationFailed([{ field, message: `unknown usage event "${item.event}"`, in: 'body' }]);
  const credits = cost * item.quantity;
  if (!Number.isSafeInteger(credits) || credits > 2_000_000_000)
    throw validationFailed([
      { field: field.replace(/event$/, 'quantity'), message: 'too large', in: 'body' },
    ]);
  return {
    id: newConsumptionId(),
    k: item.idempotencyKey,
    h: requestHash(item),
    e: item.event,
    q: item.quantity,
    c: credits,
    m: item.metadata ?? {},
  };
}

/**
 * Consumes credits for one org: one item, or an atomic batch (all or none). A replay of a key
 * with the same body returns the original result (`replayed: true`); the same key with another
 * body is 409 `idempotency_conflict`; a short balance is 402 `insufficient_credits` with
 * `{ balance, required }` and nothing stored, so the same key can succeed after a top-up —
 * unless the org's plan allows overage, then the shortfall is recorded and billed as overage.
 */
export async function consumeCredits(
  deps: Deps,
  orgId: string,
  items: ConsumeItem[],
  opts: { batch: boolean },
): Promise<ConsumedView[]> {
  const rules = await creditRules(deps);
  const sqlItems = items.map((it, i) => toSqlItem(rules, it, opts.batch ? `items.${i}.event` : 'event'));
  await ensureFreeAllocation(deps, orgId, rules);
  const r = await queueFor(deps, rules).submit({ o: orgId, items: sqlItems });
  if (r.error) {
    const at = opts.batch ? { index: r.error.index } : {};
    if (r.error.code === 'idempotency_conflict')
      throw new DomainError(
        'idempotency_conflict',
        `${opts.batch ? `items.${r.error.index}.` : ''}idempotency_key was already used with a different request`,
        { ...at, field: opts.batch ? `items.${r.error.index}.idempotency_key` : 'idempotency_key' },
      );
    throw new DomainError(
      'insufficient_credits',
      `${opts.batch ? `item ${r.error.index}: ` : ''}the balance (${r.error.balance}) does not cover ${r.error.required} credits`,
      { balance: r.error.balance, required: r.error.required, ...at },
    );
  }
  return r.results;
}
