import type { Tx } from '../../db/client.ts';
import { creditAlerts } from '../../db/schema/index.ts';
import { randomToken } from '../../ids.ts';
import { publishOrgChange } from '../live/publishOrgChange.ts';
import { emitOutgoing } from '../outgoing-webhooks/emitOutgoing.ts';
import type { OutgoingEventType } from '../outgoing-webhooks/eventTypes.ts';

export type AlertKind = 'low_balance' | 'unusual_usage' | 'auto_top_up_failed';

const EVENT_TYPE: Record<AlertKind, OutgoingEventType> = {
  low_balance: 'credits.low',
  unusual_usage: 'credits.unusual_usage',
  auto_top_up_failed: 'credits.auto_top_up_failed',
};

/**
 * Stores an alert and announces it (outgoing webhook + live update) in the caller's transaction.
 * `causeKey` is unique: the same cause never alerts twice, however often it is evaluated. The
 * caller decides the crossing itself with a conditional UPDATE in the same transaction, so
 * concurrent evaluators in several processes agree on which one raises it.
 */
export async function raiseAlert(
  tx: Tx,
  alert: { orgId: string; kind: AlertKind; causeKey: string; data: Record<string, unknown>; at: Date },
): Promise<string | null> {
  const id = `cal_${randomToken(20)}`;
  const inserted = await tx
    .insert(creditAlerts)
    .values({
      id,
      orgId: alert.orgId,
      kind: alert.kind,
      causeKey: alert.causeKey,
      data: alert.data,
      createdAt: alert.at,
    })
    .onConflictDoNothing({ target: creditAlerts.causeKey })
    .returning({ id: creditAlerts.id });
  if (inserted.length === 0) return null;
  const data = { alert_id: id, kind: alert.kind, ...alert.data };
  await emitOutgoing(tx, {
    orgId: alert.orgId,
    type: EVENT_TYPE[alert.kind],
    data,
    causeKey: alert.causeKey,
    at: alert.at,
  });
  await publishOrgChange(tx, alert.orgId, { type: 'credits.alert', id, data });
  return id;
}
