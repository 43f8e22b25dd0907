import { Counter } from 'prom-client';
import type { Metrics } from '../../http/observability.ts';
import type { DifferenceKind } from './diffProjection.ts';

/**
 * Differences the drift check healed, by kind. Module-level (registered on no registry) so the
 * drift task can count without holding the app's metrics; main.ts exposes it on /metrics through
 * registerReconcileMetrics. Counts are per process, as Prometheus counters are.
 */
const NAME = 'tollgate_reconcile_healed_total';

export const reconcileHealed = new Counter({
  name: NAME,
  help: 'Projection differences from Stripe healed by the drift check, by kind',
  labelNames: ['kind'] as const,
  registers: [],
});

export const countHealed = (kind: DifferenceKind) => reconcileHealed.inc({ kind });

/** Puts the counter on an app's registry (once per registry; tests build several apps). */
export function registerReconcileMetrics(metrics: Pick<Metrics, 'registry'>) {
  if (!metrics.registry.getSingleMetric(NAME)) metrics.registry.registerMetric(reconcileHealed);
}
