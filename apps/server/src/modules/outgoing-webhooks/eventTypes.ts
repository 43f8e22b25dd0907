/**
 * Every event type Tollgate sends to the host product. Emitters name one of these (a typo fails
 * typecheck) and endpoints subscribe to these or '*'. Add a type here, with a line in
 * docs/webhooks.md, before emitting it.
 */
export const OUTGOING_EVENT_TYPES = [
  'subscription.updated',
  'payment.failed',
  'payment.recovered',
  'payment.action_required',
  'access.restricted',
  'credits.low',
  'invoice.paid',
  'credits.unusual_usage',
  'credits.auto_top_up_succeeded',
  'credits.auto_top_up_failed',
] as const;

export type OutgoingEventType = (typeof OUTGOING_EVENT_TYPES)[number];

export const isOutgoingEventType = (s: string): s is OutgoingEventType =>
  (OUTGOING_EVENT_TYPES as readonly string[]).includes(s);
