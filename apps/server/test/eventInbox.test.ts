import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeEvents } from '../src/db/schema/index.ts';
import { withSystemTx } from '../src/db/tx.ts';
import { createEventInbox } from '../src/modules/webhooks/eventInbox.ts';
import type { VerifiedEvent } from '../src/modules/webhooks/verifyStripeEvent.ts';
import { startTestApp, type TestApp } from './harness.ts';

/** The webhook endpoint's group-commit store: many concurrent deliveries, one commit, own outcomes. */
describe('event inbox (group commit)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const event = (id: string, extra = ''): { event: VerifiedEvent; raw: string } => {
    const e = {
      id,
      object: 'event' as const,
      type: 'payment_intent.created',
      created: 1_700_000_000,
      api_version: '2026-10-28.endive',
      livemode: false,
      data: { object: { id: `pi_${id}`, object: 'payment_intent', description: extra } },
    };
    return { event: e, raw: JSON.stringify({ ...e, request: { id: null }, pending_webhooks: 1 }) };
  };

  const stored = (ids: string[]) =>
    withSystemTx(t.deps.database, (tx) =>
      tx
        .select({ id: stripeEvents.id, payload: stripeEvents.payload })
        .from(stripeEvents)
        .where(inArray(stripeEvents.id, ids)),
    );

  it('stores each of many concurrent deliveries once; duplicates in flight get "already stored"', async () => {
    const inbox = createEventInbox(t.deps, { maxBatch: 7 });
    const ids = Array.from({ length: 60 }, (_, i) => `evt_gc_${i}_${Date.now()}`);
    // Every event twice, interleaved, all at once: some duplicates share a batch, some don't.
    const results = await Promise.all([...ids, ...ids].map((id) => inbox.store(event(id))));
    const freshPerId = new Map<string, number>();
    for (const [i, id] of [...ids, ...ids].entries())
      freshPerId.set(id, (freshPerId.get(id) ?? 0) + (results[i] ? 1 : 0));
    expect([...freshPerId.values()].every((n) => n === 1)).toBe(true);
    const rows = await stored(ids);
    expect(rows).toHaveLength(60);
    // The payload is what Stripe sent, fields the envelope schema does not know included.
    expect(rows[0]!.payload).toMatchObject({ pending_webhooks: 1, request: { id: null } });
    // A later redelivery is "already stored".
    expect(await inbox.store(event(ids[0]!))).toBe(false);
  });

  it('one event the database refuses fails alone; the rest of its batch is stored', async () => {
    const inbox = createEventInbox(t.deps, { maxBatch: 50, maxInFlight: 1 });
    const ids = Array.from({ length: 20 }, (_, i) => `evt_poison_${i}_${Date.now()}`);
    const items = ids.map((id) => event(id));
    // jsonb refuses the NUL escape: this row makes its whole multi-row INSERT fail.
    items[5] = { ...items[5]!, raw: items[5]!.raw.replace('"description":""', '"description":"\\u0000"') };
    const outcomes = await Promise.allSettled(items.map((item) => inbox.store(item)));
    expect(outcomes[5]!.status).toBe('rejected');
    expect(outcomes.filter((o) => o.status === 'fulfilled' && o.value === true)).toHaveLength(19);
    const rows = await stored(ids);
    expect(rows.map((r) => r.id).sort()).toEqual(ids.filter((_, i) => i !== 5).sort());
    await inbox.drain();
  });
});
