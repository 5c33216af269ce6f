// The controller shell: the cluster view feeds StatefulSet keys into the work queue; each key's sync observes
// the set, asks the planner what to do and hands the plan to the action writer. No decisions are made here.
import type { V1StatefulSet } from '@kubernetes/client-node';
import { needsPlanning, planSet, templateHash } from '../planner/plan.ts';
import { TEMPLATE_ANNOTATION } from '../planner/keys.ts';
import type { Action, PlannerSettings, TemplateVerdict } from '../planner/types.ts';
import { describeApiError, statusOf } from '../kube/api.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { NotLeaderError, TemplateRefusedError } from './errors.ts';
import { StaleCacheError } from './release-guard.ts';
import { observeSet, type ClusterReader } from './observe.ts';
import type { TemplateVerdicts } from './template-verifier.ts';
import { WorkQueue } from './work-queue.ts';

/** What the controller reads: a cache of the cluster that is complete once synced. */
export interface ClusterView extends ClusterReader {
  start(): Promise<void>;
  stop(): Promise<void>;
  hasSynced(): boolean;
  setKeys(): string[];
  /** Seconds since the quietest watch stream last heard from the API server (an event, a bookmark, a watch start). */
  silentSeconds(): number;
}

/**
 * Liveness: a cache that has heard nothing for three watch idle timeouts (every watch restarts, and so is
 * heard from, at least once per idle timeout) has lost the API server, and a sync running this long is
 * wedged. Either makes /healthz fail so the kubelet restarts the controller; mere load does neither.
 */
export const STUCK_SYNC_LIMIT_SECONDS = 600;

/** What the controller writes: a plan's actions, performed in order, stopping at the first failure. */
export interface ActionWriter {
  execute(set: V1StatefulSet, actions: Action[]): Promise<void>;
}

export interface ControllerDependencies {
  view: ClusterView;
  writer: ActionWriter;
  /** Where VerifyTemplate's outcomes are kept (written by the action writer). */
  verdicts: TemplateVerdicts;
  log: Logger;
  metrics: Metrics;
  isLeader: () => boolean;
  /** Wall time (epoch ms) the planner judges by: the API server's (ServerClock). Default: this process's. */
  now?: () => number;
}

export interface ControllerOptions {
  concurrency: number;
  resyncPeriodMs: number;
  planner: PlannerSettings;
  /** The work queue's per-key retry backoff. */
  retry?: { baseMs: number; maxMs: number };
  /** The informers' watch idle timeout; /healthz allows three of them without a word from the API server. */
  watchIdleTimeoutMs: number;
}

export class DrainController {
  readonly queue: WorkQueue;
  private readonly deps: ControllerDependencies;
  private readonly options: ControllerOptions;
  private readonly ignored = new Set<string>();
  /**
   * Template of each set as found by the initial sync. On a set carrying our finalizer (accepted before) the
   * first drain pod's create is the check: a restart of the controller must not dry-run every template in the
   * cluster. Templates that appear or change while the controller runs are checked at once (planner).
   */
  private readonly startupTemplates = new Map<string, string | undefined>();
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(deps: ControllerDependencies, options: ControllerOptions) {
    this.deps = deps;
    this.options = options;
    this.queue = new WorkQueue((key) => this.sync(key), {
      concurrency: options.concurrency, baseRetryMs: options.retry?.baseMs ?? 200, maxRetryMs: options.retry?.maxMs ?? 60_000,
      observer: deps.metrics.queueObserver,
    });
  }

  async start(): Promise<void> {
    const { view, log } = this.deps;
    const started = Date.now();
    await view.start();
    for (const key of view.setKeys()) this.startupTemplates.set(key, view.getSet(key)?.metadata?.annotations?.[TEMPLATE_ANNOTATION]);
    log.info('caches synced', { statefulsets: view.setKeys().length, ms: Date.now() - started });
    this.enqueueAll();
    this.resyncTimer = setInterval(() => this.enqueueAll(), this.options.resyncPeriodMs);
    this.resyncTimer.unref();
  }

  isReady(): boolean {
    return this.deps.view.hasSynced();
  }

  /** Why the controller cannot recover by itself, or undefined while it is healthy (see the limits above). */
  unhealthy(): string | undefined {
    const { view } = this.deps;
    if (view.hasSynced() && view.silentSeconds() > (3 * this.options.watchIdleTimeoutMs) / 1000)
      return `the cache has heard nothing from the API server for ${Math.round(view.silentSeconds())}s`;
    const longest = this.queue.longestRunningSeconds();
    if (longest > STUCK_SYNC_LIMIT_SECONDS) return `a reconcile has been running for ${Math.round(longest)}s`;
    return undefined;
  }

  /** Re-examines every set from the cache (no API calls): after a leader change and periodically. */
  enqueueAll(): void {
    for (const key of this.deps.view.setKeys()) this.queue.add(key);
  }

  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    await this.queue.shutdown();
    await this.deps.view.stop();
  }

  async sync(key: string): Promise<void> {
    const { view, writer, log, metrics, isLeader } = this.deps;
    // Workers start on a complete cache (start() enqueues everything once synced).
    if (!isLeader() || !view.hasSynced()) return;
    const set = view.getSet(key);
    if (!set) {
      log.debug('StatefulSet is gone; forgetting it', { statefulset: key });
      metrics.setSummary(key, undefined);
      this.deps.verdicts.forget(key);
      this.startupTemplates.delete(key);
      return;
    }
    if (!needsPlanning(set, view.podsFor(key))) {
      metrics.setSummary(key, undefined);
      if (!this.ignored.has(key)) {
        this.ignored.add(key);
        log.debug('ignoring StatefulSet without a drainer template or claim templates', { statefulset: key });
      }
      if (log.isDebugEnabled()) log.debug('synced', { statefulset: key, ignored: true });
      return;
    }
    this.ignored.delete(key);
    const started = process.hrtime.bigint();
    try {
      const plan = planSet(observeSet(view, key, set, this.verdictOf(key, set), new Date(this.deps.now?.() ?? Date.now())),
        this.options.planner);
      metrics.setSummary(key, plan.summary);
      await writer.execute(set, plan.actions);
      if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs);
      // Built only when wanted: this runs on every reconcile.
      if (log.isDebugEnabled()) log.debug('synced', {
        statefulset: key, actions: plan.actions.map((a) => a.kind), requeueAfterMs: plan.requeueAfterMs,
        ordinals: plan.ordinals.map((o) => `${o.ordinal}:${o.state}`),
      });
    } catch (err) {
      if (err instanceof NotLeaderError) return;
      // The template's first drain pod was refused: plan again at once, with the verdict, to report it.
      if (err instanceof TemplateRefusedError) {
        this.queue.add(key);
        return;
      }
      // The executor found the cache behind a scale-up (and said so): the watch event that follows re-plans.
      if (err instanceof StaleCacheError) throw err;
      // A conflict only means the cache was a step behind another writer: retry without alarm.
      if (statusOf(err) === 409) {
        log.info('conflict with another write; retrying from the latest state', { statefulset: key, error: describeApiError(err) });
        throw err;
      }
      metrics.reconcileErrors.inc();
      log.error('reconcile failed; retrying with backoff', { statefulset: key, error: describeApiError(err) });
      throw err;
    } finally {
      metrics.reconcileDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  private verdictOf(key: string, set: V1StatefulSet): TemplateVerdict {
    const known = this.deps.verdicts.get(key, templateHash(set));
    if (known) return known;
    return { state: 'unchecked', atStartup: this.startupTemplates.get(key) };
  }
}
