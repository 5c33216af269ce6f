// Prometheus metrics. Labels carry no object names, so the endpoint exposes no object contents and
// cardinality stays flat however many StatefulSets there are.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CONTROLLER_NAME } from '../names.ts';
import type { SetSummary } from '../set-summary.ts';

/** The work queue's name in the workqueue_* families (client-go names a queue after its controller). */
const QUEUE_NAME = CONTROLLER_NAME;

/** client-go's buckets for queue and work durations: 10 ns to about 3 hours, a factor of 10 apart. */
const EXPONENTIAL_BUCKETS = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);

export interface QueueState {
  depth: number;
  unfinishedWorkSeconds: number;
  longestRunningSeconds: number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly drainsStarted = new Counter({ name: 'sdc_drains_started_total', help: 'Drain pods created.', registers: [this.registry] });
  readonly drainsSucceeded = new Counter({ name: 'sdc_drains_succeeded_total', help: 'Drain pods that succeeded and were cleaned up.',
    registers: [this.registry] });
  readonly drainTimeouts = new Counter({ name: 'sdc_drain_timeouts_total',
    help: 'Drain attempts stopped because they passed their drainer-timeout (also counted as failed).', registers: [this.registry] });
  readonly releasesRefused = new Counter({
    name: 'sdc_releases_refused_total',
    help: 'Claim deletions called off because the release proof, read afresh from the API server, did not hold (a stale cache ' +
      'or a changed drain pod).',
    registers: [this.registry],
  });
  readonly drainsFailed = new Counter({ name: 'sdc_drains_failed_total', help: 'Drain pods that failed (each failed attempt counts).',
    registers: [this.registry] });
  readonly claimsReleased = new Counter({ name: 'sdc_claims_released_total',
    help: 'PersistentVolumeClaims deleted after a successful drain.', registers: [this.registry] });
  readonly volumesKept = new Counter({ name: 'sdc_volumes_kept_total',
    help: 'Volumes set to Retain and marked as kept before their released claim was deleted (drainer-keep-volume).',
    registers: [this.registry] });
  readonly volumesReclaimed = new Counter({ name: 'sdc_volumes_reclaimed_total',
    help: 'Kept volumes whose keep ended: their reclaim policy set back, for their provisioner to reclaim them.',
    registers: [this.registry] });
  readonly volumesRestored = new Counter({ name: 'sdc_volumes_restored_total',
    help: 'Kept volumes restored (kubectl sts-drain restore) and bound to their new claim: counted when the controller gives them ' +
      'their reclaim policy back.', registers: [this.registry] });
  readonly keptVolumes = new Gauge({ name: 'sdc_kept_volumes', labelNames: ['state'],
    help: 'Volumes the controller marked as kept, by state: kept (within the keep), held (keep over, ordinal in range again), ' +
      'edited (changed by someone since; left alone).', registers: [this.registry] });
  readonly keptVolumeBytes = new Gauge({ name: 'sdc_kept_volume_bytes',
    help: 'Capacity of the volumes marked as kept, where their spec states it.', registers: [this.registry] });
  readonly keptVolumesPastExpiry = new Gauge({ name: 'sdc_kept_volumes_past_expiry',
    help: 'Volumes marked as kept whose keep has ended and that are not being reclaimed (held or edited).', registers: [this.registry] });
  readonly drainDuration = new Histogram({
    name: 'sdc_drain_duration_seconds', help: 'From drain pod creation to its release after success.',
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200], registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'sdc_reconcile_duration_seconds', help: 'Time to plan and perform one StatefulSet reconcile.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry],
  });
  readonly apiRequests = new Counter({ name: 'sdc_api_requests_total', help: 'Kubernetes API requests by verb, resource and HTTP status ' +
    '(0: no response).', labelNames: ['verb', 'resource', 'code'], registers: [this.registry] });
  readonly reconcileErrors = new Counter({ name: 'sdc_reconcile_errors_total',
    help: 'Reconciles that failed and were retried with backoff (write conflicts excluded).', registers: [this.registry] });
  readonly leader = new Gauge({ name: 'sdc_leader', help: '1 while this replica holds the leader lease.', registers: [this.registry] });
  readonly apiRetries = new Counter({ name: 'sdc_api_retries_total', help: 'Kubernetes API requests sent again after ' +
    'a transient failure, by verb, resource and the HTTP status that failed (0: no response).', labelNames: ['verb', 'resource', 'code'],
    registers: [this.registry] });

  // The families client-go and controller-runtime export, so existing controller dashboards work unchanged.
  // Labels as there, except that no label carries a URL path (paths hold object names).
  readonly restClientRequests = new Counter({ name: 'rest_client_requests_total', help: 'Number of HTTP requests, partitioned by status ' +
    'code, method, and host.', labelNames: ['code', 'method', 'host'], registers: [this.registry] });
  readonly restClientDuration = new Histogram({
    name: 'rest_client_request_duration_seconds', help: 'Request latency in seconds. Broken down by verb and host.',
    labelNames: ['verb', 'host'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [this.registry],
  });
  readonly workqueueAdds = new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue',
    labelNames: ['name', 'controller'], registers: [this.registry] });
  readonly workqueueRetries = new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue',
    labelNames: ['name', 'controller'], registers: [this.registry] });
  readonly workqueueQueueDuration = new Histogram({
    name: 'workqueue_queue_duration_seconds', help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: ['name', 'controller'],
    buckets: EXPONENTIAL_BUCKETS, registers: [this.registry],
  });
  readonly workqueueWorkDuration = new Histogram({
    name: 'workqueue_work_duration_seconds', help: 'How long in seconds processing an item from workqueue takes.',
    labelNames: ['name', 'controller'],
    buckets: EXPONENTIAL_BUCKETS, registers: [this.registry],
  });
  readonly leaderElectionMasterStatus = new Gauge({ name: 'leader_election_master_status', help: 'Gauge of if the reporting ' +
    'system is master of the relevant lease, 0 indicates backup, 1 indicates master. \'name\' is the string used to identify the lease.',
    labelNames: ['name'], registers: [this.registry] });
  private readonly summaries = new Map<string, SetSummary>();

  /** `queue` reports the work queue's state when scraped. */
  constructor(queue: () => QueueState) {
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
    gauge('sdc_delayed_drains', 'Orphaned ordinals waiting out their drain delay (drainer-delay).', (s) => s.delayed);
    gauge('sdc_abandoned_drains', 'Ordinals whose drain failed on every attempt (waiting for a retry request).', (s) => s.gaveUp);
    gauge('sdc_held_ordinals',
      'Ordinals held by a pod with drain labels that this controller cannot prove it created as it is (a look-alike, or its own drain ' +
        'pod relabelled or with changed containers): no drain runs there until it is gone.',
      (s) => s.held);
    gauge('sdc_invalid_templates', 'Managed StatefulSets whose drainer template is invalid.', (s) => (s.invalid ? 1 : 0));
    gauge('sdc_managed_statefulsets', 'StatefulSets with a drainer template, or with drains still finishing.', () => 1);
    new Gauge({
      name: 'sdc_queue_depth', help: 'StatefulSets waiting to be reconciled.', registers: [this.registry],
      collect() {
        this.set(queue().depth);
      },
    });
    const labels = { name: QUEUE_NAME, controller: QUEUE_NAME };
    new Gauge({
      name: 'workqueue_depth', help: 'Current depth of workqueue by workqueue and priority', labelNames: ['name', 'controller', 'priority'],
      registers: [this.registry],
      collect() {
        this.set({ ...labels, priority: '' }, queue().depth);
      },
    });
    new Gauge({
      name: 'workqueue_unfinished_work_seconds', help: 'How many seconds of work has been done that is in progress and hasn\'t been ' +
        'observed by work_duration. Large values indicate stuck threads.',
      labelNames: ['name', 'controller'], registers: [this.registry],
      collect() {
        this.set(labels, queue().unfinishedWorkSeconds);
      },
    });
    new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name', 'controller'], registers: [this.registry],
      collect() {
        this.set(labels, queue().longestRunningSeconds);
      },
    });
  }

  /** Feeds the workqueue_* families from the work queue (its WorkQueueObserver, work-queue.ts). */
  readonly queueObserver = {
    added: () => this.workqueueAdds.inc({ name: QUEUE_NAME, controller: QUEUE_NAME }),
    retried: () => this.workqueueRetries.inc({ name: QUEUE_NAME, controller: QUEUE_NAME }),
    waited: (seconds: number) => this.workqueueQueueDuration.observe({ name: QUEUE_NAME, controller: QUEUE_NAME }, seconds),
    worked: (seconds: number) => this.workqueueWorkDuration.observe({ name: QUEUE_NAME, controller: QUEUE_NAME }, seconds),
  };

  /** Counts one HTTP request to the API server (watches included) in the rest_client_* families. */
  observeRequest(method: string, host: string, code: number, seconds?: number): void {
    this.restClientRequests.inc({ code: code === 0 ? '<error>' : String(code), method, host });
    if (seconds !== undefined) this.restClientDuration.observe({ verb: method, host }, seconds);
  }

  setSummary(key: string, summary: SetSummary | undefined): void {
    if (summary) this.summaries.set(key, summary);
    else this.summaries.delete(key);
  }
}
