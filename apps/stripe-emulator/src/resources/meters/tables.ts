/**
 * Billing meter tables. Meter events have no id in Stripe's API; they are stored under an
 * internal `mev_` id (never rendered: `renderMeterEvent` drops it) and found by `identifier`
 * through MeterEventIdentifiers, which holds the identifier's latest event.
 */
import type Stripe from 'stripe';
import { defineTable } from '../../core/store.ts';

export const Meters = defineTable<Stripe.Billing.Meter>({
  object: 'billing.meter',
  prefix: 'mtr',
  name: 'billing meter',
});

export type MeterEventRow = Stripe.Billing.MeterEvent & { id: string };

/** How the event was ingested (what Stripe works out asynchronously after accepting it). */
export interface MeterEventMeta {
  /** The active meter whose event_name matched when the event arrived; null = none. */
  meter: string | null;
  /** The customer the meter's customer_mapping found in the payload; null = missing/unknown. */
  customer: string | null;
  /** The whole-number value from value_settings' payload key; null = missing or invalid. */
  value: number | null;
  /** Global-clock time it arrived (the identifier is unique for 24 h from here). */
  received: number;
  /** Canceled by a meter event adjustment. */
  canceled?: boolean;
}

export const MeterEvents = defineTable<MeterEventRow, MeterEventMeta>({
  object: 'billing.meter_event',
  prefix: 'mev',
  name: 'meter event',
});

export interface MeterEventIdentifierRow {
  /** The identifier itself. */
  id: string;
  object: 'billing.meter_event_identifier';
  created: number;
  /** Internal id of the latest event with this identifier. */
  event: string;
}

export const MeterEventIdentifiers = defineTable<MeterEventIdentifierRow>({
  object: 'billing.meter_event_identifier',
  prefix: '',
  name: 'meter event identifier',
});
