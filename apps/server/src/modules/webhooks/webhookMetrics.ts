import { Counter, Histogram, type Registry } from 'prom-client';

/** Webhook health: ingest, rejections, processing outcomes and lag (received → applied). */
export function createWebhookMetrics(registry?: Registry) {
  const registers = registry ? [registry] : [];
  return {
    received: new Counter({
      name: 'tollgate_stripe_events_received_total',
      help: 'Verified Stripe events received',
      labelNames: ['outcome'] as const,
      registers,
    }),
    rejected: new Counter({
      name: 'tollgate_stripe_webhook_rejected_total',
      help: 'Webhook requests refused (bad or missing signature)',
      registers,
    }),
    processed: new Counter({
      name: 'tollgate_stripe_events_processed_total',
      help: 'Stripe events processed',
      labelNames: ['outcome'] as const,
      registers,
    }),
    lag: new Histogram({
      name: 'tollgate_stripe_event_lag_seconds',
      help: 'Seconds from receipt to application',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers,
    }),
  };
}
export type WebhookMetrics = ReturnType<typeof createWebhookMetrics>;
