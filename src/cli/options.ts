// Every flag of the controller, with its default, in one place (the README's flag table mirrors this).
import { Command, InvalidArgumentError } from 'commander';
import type { PlannerSettings } from '../planner/types.ts';
import { parseDuration } from './duration.ts';

export interface RunOptions {
  kubeconfig?: string;
  context?: string;
  namespaces: string[];
  selector?: string;
  concurrency: number;
  qps: number;
  burst: number;
  eventQps: number;
  eventBurst: number;
  maxAttempts: number;
  backoffBase: number;
  backoffMax: number;
  pendingDeadline: number;
  runningDeadline: number;
  resyncPeriod: number;
  dryRun: boolean;
  cacheFullObjects: boolean;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  httpAddress: string;
  logLevel: string;
  logFormat: 'json' | 'text';
}

const duration = (value: string) => {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};
const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};
const nonNegative = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number >= 0');
  return n;
};
const list = (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean);

export type PlannerOptions = Pick<RunOptions, 'maxAttempts' | 'backoffBase' | 'backoffMax' | 'pendingDeadline' | 'runningDeadline'>;

export function plannerSettings(options: PlannerOptions): PlannerSettings {
  return {
    maxAttempts: options.maxAttempts, backoffBaseMs: options.backoffBase, backoffMaxMs: options.backoffMax,
    pendingDeadlineMs: options.pendingDeadline, runningDeadlineMs: options.runningDeadline,
  };
}

/** The flags that shape the planner's decisions: `run` and `status` share them, so both judge alike. */
export function addPlannerOptions(command: Command): Command {
  return command
    .option('--max-attempts <n>', 'drain attempts per ordinal before giving up (annotation overrides)', positiveInt, 3)
    .option('--backoff-base <duration>', 'delay before the first retry of a failed drain; doubles per failure', duration, parseDuration('10s'))
    .option('--backoff-max <duration>', 'longest delay between drain retries', duration, parseDuration('5m'))
    .option('--pending-deadline <duration>', 'report a drain pod Pending longer than this as stuck', duration, parseDuration('10m'))
    .option('--running-deadline <duration>', 'report a drain pod Running longer than this as stuck', duration, parseDuration('6h'));
}

export function addRunOptions(command: Command): Command {
  return addPlannerOptions(command)
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, then the in-cluster service account, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use (default: its current-context)')
    .option('--namespaces <list>', 'comma-separated namespaces to watch (default: all)', list, [])
    .option('--selector <labels>', 'only serve StatefulSets matching this label selector (sharding)')
    .option('--concurrency <n>', 'StatefulSets reconciled in parallel', positiveInt, 4)
    .option('--qps <n>', 'client-side API requests per second, events excluded (0: unlimited)', nonNegative, 100)
    .option('--burst <n>', 'client-side API request burst', positiveInt, 200)
    .option('--event-qps <n>', 'events per second (sent in the background; 0: unlimited)', nonNegative, 20)
    .option('--event-burst <n>', 'event burst', positiveInt, 100)
    .option('--resync-period <duration>', 're-examine every StatefulSet from the cache this often', duration, parseDuration('10m'))
    .option('--dry-run', 'log the actions instead of performing them', false)
    .option('--cache-full-objects', 'cache whole objects instead of the fields the controller reads (uses more memory)', false)
    .option('--no-leader-elect', 'act without a Lease (only for a single replica)')
    .option('--leader-election-namespace <ns>', 'namespace of the Lease (default: $POD_NAMESPACE, else the service account\'s or the kubeconfig context\'s namespace, else "default")')
    .option('--leader-election-id <name>', 'name of the Lease', 'statefulset-drain-controller')
    .option('--lease-duration <duration>', 'how long a lease is valid after its last renewal', duration, parseDuration('15s'))
    .option('--renew-deadline <duration>', 'the leader stops acting when it could not renew for this long', duration, parseDuration('10s'))
    .option('--retry-period <duration>', 'how often to try to acquire or renew the lease', duration, parseDuration('2s'))
    .option('--http-address <host:port>', 'address of /metrics, /healthz and /readyz', ':8080')
    .option('--log-level <level>', 'error, warn, info or debug', 'info')
    .option('--log-format <format>', 'json or text', 'json');
}
