// Prometheus metrics. Labels carry no object names, so the endpoint exposes no object contents and
// cardinality stays flat however many StatefulSets there are.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface SetSummary {
  orphanedClaims: number;
  stuckDrains: number;
  gaveUp: number;
  invalid: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  readonly drainsStarted = new Counter({ name: 'sdc_drains_started_total', help: 'Drain pods created.', registers: [this.registry] });
  readonly drainsSucceeded = new Counter({ name: 'sdc_drains_succeeded_total', help: 'Drain pods that succeeded and were cleaned up.', registers: [this.registry] });
  readonly drainsFailed = new Counter({ name: 'sdc_drains_failed_total', help: 'Drain pods that failed (each failed attempt counts).', registers: [this.registry] });
  readonly claimsReleased = new Counter({ name: 'sdc_claims_released_total', help: 'PersistentVolumeClaims deleted after a successful drain.', registers: [this.registry] });
  readonly drainDuration = new Histogram({
    name: 'sdc_drain_duration_seconds', help: 'From drain pod creation to its release after success.',
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200], registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'sdc_reconcile_duration_seconds', help: 'Time to plan and perform one StatefulSet reconcile.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry],
  });
  readonly apiRequests = new Counter({ name: 'sdc_api_requests_total', help: 'Kubernetes API requests by verb, resource and HTTP status (0: no response).', labelNames: ['verb', 'resource', 'code'], registers: [this.registry] });
  readonly reconcileErrors = new Counter({ name: 'sdc_reconcile_errors_total', help: 'Reconciles that failed and were retried with backoff (write conflicts excluded).', registers: [this.registry] });
  readonly leader = new Gauge({ name: 'sdc_leader', help: '1 while this replica holds the leader lease.', registers: [this.registry] });
  private readonly summaries = new Map<string, SetSummary>();

  constructor(queueDepth: () => number) {
    collectDefaultMetrics({ register: this.registry });
    const summaries = this.summaries;
    const total = (pick: (s: SetSummary) => number) => {
      let sum = 0;
      for (const s of summaries.values()) sum += pick(s);
      return sum;
    };
    const gauge = (name: string, help: string, pick: (s: SetSummary) => number) => new Gauge({
      name, help, registers: [this.registry],
      collect() {
        this.set(total(pick));
      },
    });
    gauge('sdc_orphaned_claims', 'Claims left behind by a scale-down and not yet released.', (s) => s.orphanedClaims);
    gauge('sdc_stuck_drains', 'Drain pods Pending or Running past their deadline.', (s) => s.stuckDrains);
    gauge('sdc_abandoned_drains', 'Ordinals whose drain failed on every attempt (waiting for a retry request).', (s) => s.gaveUp);
    gauge('sdc_invalid_templates', 'Managed StatefulSets whose drainer template is invalid.', (s) => (s.invalid ? 1 : 0));
    gauge('sdc_managed_statefulsets', 'StatefulSets with a drainer template, or with drains still finishing.', () => 1);
    new Gauge({
      name: 'sdc_queue_depth', help: 'StatefulSets waiting to be reconciled.', registers: [this.registry],
      collect() {
        this.set(queueDepth());
      },
    });
  }

  setSummary(key: string, summary: SetSummary | undefined): void {
    if (summary) this.summaries.set(key, summary);
    else this.summaries.delete(key);
  }
}
