import { createHash } from 'node:crypto';
import { randomToken } from '../../ids.ts';

/** Deterministic from the cause, so the same cause names the same event in every log. */
export const outgoingEventId = (causeKey: string) =>
  `whe_${createHash('sha256').update(causeKey).digest('hex').slice(0, 24)}`;
export const newDeliveryId = () => `whd_${randomToken(20)}`;
export const newEndpointId = () => `whep_${randomToken(20)}`;
/** ~190 bits; prefixed so a leaked secret is recognisable in scanners and logs. */
export const newEndpointSecret = () => `tgwhsec_${randomToken(32)}`;

export const DELIVERY_ID = /^whd_[A-Za-z0-9]{20}$/;
export const ENDPOINT_ID = /^whep_[A-Za-z0-9]{20}$/;
