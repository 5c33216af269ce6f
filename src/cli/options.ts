// Every flag of the controller, with its default, in one place (the flag table in docs/configuration.md mirrors this).
import { Command, InvalidArgumentError } from 'commander';
import type { PlannerSettings } from '../planner/types.ts';
import { parseDuration } from '../planner/duration.ts';
import { MAX_KEEP_VOLUME_MS } from '../planner/settings.ts';
import { DEFAULT_WATCH_IDLE_TIMEOUT_MS } from '../kube/informer.ts';
import { CONTROLLER_NAME } from '../names.ts';

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
  drainTimeout: number;
  drainDelay: number;
  keepVolume: number;
  maxKeepVolume: number;
  resyncPeriod: number;
  dryRun: boolean;
  cacheFullObjects: boolean;
  watchIdleTimeout: number;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  /** --http-address: both of the addresses below, unless they are given themselves. */
  httpAddress?: string;
  metricsBindAddress?: string;
  healthProbeBindAddress?: string;
  logLevel: string;
  /** klog's -v: 4 and above mean debug. */
  v?: number;
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
const maxKeep = (value: string) => {
  const ms = duration(value);
  if (ms < 1000 || ms > MAX_KEEP_VOLUME_MS) throw new InvalidArgumentError('must be between 1s and 2160h');
  return ms;
};
const list = (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean);
const booleanFlag = (value: string) => {
  if (/^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  throw new InvalidArgumentError('must be true or false');
};

/** Where /metrics and the probes listen: the controller-runtime flags, else --http-address, else :8080. */
export function bindAddresses(options: Pick<RunOptions,
    'httpAddress' | 'metricsBindAddress' | 'healthProbeBindAddress'>): { metrics: string; probes: string } {
  return {
    metrics: options.metricsBindAddress ?? options.httpAddress ?? ':8080',
    probes: options.healthProbeBindAddress ?? options.httpAddress ?? ':8080',
  };
}

/** --log-level, raised to debug by -v 4 or more. */
export function logLevel(options: Pick<RunOptions, 'logLevel' | 'v'>): string {
  return options.v !== undefined && options.v >= 4 ? 'debug' : options.logLevel;
}

export type PlannerOptions = Pick<RunOptions, 'maxAttempts' | 'backoffBase' | 'backoffMax' | 'pendingDeadline' | 'runningDeadline' |
  'drainTimeout' | 'drainDelay' | 'keepVolume' | 'maxKeepVolume'>;

export function plannerSettings(options: PlannerOptions): PlannerSettings {
  return {
    maxAttempts: options.maxAttempts, backoffBaseMs: options.backoffBase, backoffMaxMs: options.backoffMax,
    pendingDeadlineMs: options.pendingDeadline, runningDeadlineMs: options.runningDeadline, drainTimeoutMs: options.drainTimeout,
    drainDelayMs: options.drainDelay, keepVolumeMs: options.keepVolume, maxKeepVolumeMs: options.maxKeepVolume,
  };
}

/** The flags that shape the planner's decisions: `run` and `status` share them, so both judge alike. */
export function addPlannerOptions(command: Command): Command {
  return command
    .option('--max-attempts <n>', 'drain attempts per ordinal before giving up (annotation overrides)', positiveInt, 3)
    .option('--backoff-base <duration>', 'delay before the first retry of a failed drain; doubles per failure',
      duration, parseDuration('10s'))
    .option('--backoff-max <duration>', 'longest delay between drain retries', duration, parseDuration('5m'))
    .option('--pending-deadline <duration>', 'report a drain pod Pending longer than this as stuck', duration, parseDuration('10m'))
    .option('--running-deadline <duration>', 'report a drain pod Running longer than this as stuck', duration, parseDuration('6h'))
    .option('--drain-delay <duration>', 'default wait before an orphaned ordinal\'s drain starts (the drainer-delay annotation ' +
      'overrides; 0: none)', (v: string) => (v === '0' ? 0 : duration(v)), 0)
    .option('--drain-timeout <duration>', 'default limit of one drain attempt, past which it has failed (the drainer-timeout annotation ' +
      'overrides; 0: none)', (v: string) => (v === '0' ? 0 : duration(v)), 0)
    .option('--keep-volume <duration>', 'default time a released claim\'s volume is kept before it is reclaimed (the drainer-keep-volume ' +
      'annotation overrides; 0: none; needs the keep-volume permissions)', (v: string) => (v === '0' ? 0 : duration(v)), 0)
    .option('--max-keep-volume <duration>', 'the longest keep a set may ask for (kept volumes count against no quota; at most 2160h)',
      maxKeep, parseDuration('720h'));
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
    .option('--watch-idle-timeout <duration>', 'restart a watch that has sent nothing, not even a bookmark, for this long (a half-open ' +
      'connection)', duration, DEFAULT_WATCH_IDLE_TIMEOUT_MS)
    .option('--cache-full-objects', 'cache whole objects instead of the fields the controller reads (uses more memory)', false)
    .option('--leader-elect [bool]',
      'use a Lease so that only one replica acts (--leader-elect=false: single replica only)', booleanFlag, true)
    .option('--no-leader-elect', 'the same as --leader-elect=false')
    .option('--leader-election-namespace <ns>', 'namespace of the Lease (default: $POD_NAMESPACE, else the service account\'s or the ' +
      'kubeconfig context\'s namespace, else "default")')
    .option('--leader-election-id <name>', 'name of the Lease', CONTROLLER_NAME)
    .option('--lease-duration <duration>', 'how long a lease is valid after its last renewal', duration, parseDuration('15s'))
    .option('--renew-deadline <duration>', 'the leader stops acting when it could not renew for this long', duration, parseDuration('10s'))
    .option('--retry-period <duration>', 'how often to try to acquire or renew the lease', duration, parseDuration('2s'))
    .option('--metrics-bind-address <host:port>', 'address of /metrics (default :8080)')
    .option('--health-probe-bind-address <host:port>', 'address of /healthz and /readyz (default :8080)')
    .option('--http-address <host:port>', 'both addresses at once (each of the two flags above wins over it)')
    .option('--log-level <level>', 'error, warn, info or debug', 'info')
    .option('-v, --v <level>', 'klog-style verbosity: 4 or more is --log-level=debug', nonNegative)
    .option('--log-format <format>', 'json or text', 'json');
}
