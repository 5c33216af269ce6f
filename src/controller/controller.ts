// The controller shell: informers feed StatefulSet keys into the work queue; each key's sync reads the
// cache, asks the planner what to do and hands the plan to the executor. No decisions are made here.
import type { V1StatefulSet } from '@kubernetes/client-node';
import { isManaged, planSet } from '../planner/plan.ts';
import { parseDrainerTemplate, type TemplateResult } from '../planner/template.ts';
import { FINALIZER, ROLE_DRAINER, ROLE_LABEL, TEMPLATE_ANNOTATION } from '../planner/keys.ts';
import type { Plan, PlannerSettings } from '../planner/types.ts';
import { statusOf, type KubeApi } from '../kube/api.ts';
import type { KubeHttpClient } from '../kube/http-client.ts';
import { ClusterCache } from '../kube/cluster-cache.ts';
import { EventRecorder } from '../kube/events.ts';
import { Executor, NotLeaderError } from '../kube/executor.ts';
import { TemplateVerifier } from '../kube/template-verifier.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { WorkQueue } from './work-queue.ts';

export interface ControllerOptions {
  namespaces: string[];
  setSelector?: string;
  concurrency: number;
  dryRun: boolean;
  cacheFullObjects: boolean;
  resyncPeriodMs: number;
  planner: PlannerSettings;
  instance: string;
  events: { qps: number; burst: number };
}

export class DrainController {
  readonly queue: WorkQueue;
  private readonly cache: ClusterCache;
  private readonly executor: Executor;
  private readonly verifier: TemplateVerifier;
  private readonly ignored = new Set<string>();
  /**
   * Template of each set as found by the initial sync. Those are checked with the API server only when a
   * drain is about to start: a restart of the controller must not dry-run every template in the cluster.
   * Templates that appear or change while the controller runs are checked at once.
   */
  private readonly startupTemplates = new Map<string, string | undefined>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly options: ControllerOptions;
  private readonly isLeader: () => boolean;

  constructor(client: KubeHttpClient, api: KubeApi, log: Logger, metrics: Metrics, options: ControllerOptions, isLeader: () => boolean) {
    this.log = log;
    this.metrics = metrics;
    this.options = options;
    this.isLeader = isLeader;
    this.queue = new WorkQueue((key) => this.sync(key), { concurrency: options.concurrency, baseRetryMs: 200, maxRetryMs: 60_000 });
    this.cache = new ClusterCache(client, api, { namespaces: options.namespaces, setSelector: options.setSelector, fullObjects: options.cacheFullObjects },
      (key) => this.queue.add(key), log);
    this.verifier = new TemplateVerifier(api);
    this.executor = new Executor(api, new EventRecorder(api, options.instance, log, options.events), metrics, log,
      { dryRun: options.dryRun, isLeader });
  }

  async start(): Promise<void> {
    const started = Date.now();
    await this.cache.start();
    for (const key of this.cache.setKeys()) this.startupTemplates.set(key, this.cache.getSet(key)?.metadata?.annotations?.[TEMPLATE_ANNOTATION]);
    this.log.info('caches synced', { statefulsets: this.cache.setKeys().length, ms: Date.now() - started });
    this.enqueueAll();
    this.resyncTimer = setInterval(() => this.enqueueAll(), this.options.resyncPeriodMs);
    this.resyncTimer.unref();
  }

  isReady(): boolean {
    return this.cache.hasSynced();
  }

  /** Re-examines every set from the cache (no API calls): after a leader change and periodically. */
  enqueueAll(): void {
    for (const key of this.cache.setKeys()) this.queue.add(key);
  }

  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    await this.queue.shutdown();
    await this.cache.stop();
  }

  private needsAttention(set: V1StatefulSet, key: string): boolean {
    if (isManaged(set) || (set.metadata?.finalizers ?? []).includes(FINALIZER)) return true;
    // Drain pods of a set whose annotation was removed still get seen through.
    return this.cache.podsFor(key).some((p) => p.metadata?.labels?.[ROLE_LABEL] === ROLE_DRAINER);
  }

  async sync(key: string): Promise<void> {
    // Workers start on a complete cache (start() enqueues everything once synced).
    if (!this.isLeader() || !this.cache.hasSynced()) return;
    const set = this.cache.getSet(key);
    if (!set) {
      this.log.debug('StatefulSet is gone; forgetting it', { statefulset: key });
      this.metrics.setSummary(key, undefined);
      this.verifier.forget(key);
      this.startupTemplates.delete(key);
      return;
    }
    if (!this.needsAttention(set, key)) {
      this.metrics.setSummary(key, undefined);
      if (!this.ignored.has(key)) {
        this.ignored.add(key);
        this.log.debug('ignoring StatefulSet without a drainer template or claim templates', { statefulset: key });
      }
      if (this.log.isDebugEnabled()) this.log.debug('synced', { statefulset: key, ignored: true });
      return;
    }
    this.ignored.delete(key);
    const started = process.hrtime.bigint();
    try {
      const observe = (template: TemplateResult) => planSet({
        set, template, claims: this.cache.claimsFor(key), pods: this.cache.podsFor(key), now: new Date(),
      }, this.options.planner);
      let template: TemplateResult = isManaged(set) ? parseDrainerTemplate(set) : { ok: false, problems: ['not managed'] };
      let plan = observe(template);
      const text = set.metadata?.annotations?.[TEMPLATE_ANNOTATION];
      const changedSinceStartup = !this.startupTemplates.has(key) || this.startupTemplates.get(key) !== text;
      if (template.ok && (changedSinceStartup || plan.actions.some((a) => a.kind === 'CreateDrainPod'))) {
        template = await this.verifier.verify(key, set, template);
        if (!template.ok) plan = observe(template);
      }
      this.summarize(key, plan, template);
      await this.executor.execute(set, plan.actions);
      if (plan.requeueAfterMs !== undefined) this.queue.addAfter(key, plan.requeueAfterMs);
      // Built only when wanted: this runs on every reconcile.
      if (this.log.isDebugEnabled()) this.log.debug('synced', {
        statefulset: key, actions: plan.actions.map((a) => a.kind), requeueAfterMs: plan.requeueAfterMs,
        ordinals: plan.ordinals.map((o) => `${o.ordinal}:${o.state}`),
      });
    } catch (err) {
      if (err instanceof NotLeaderError) return;
      // A conflict only means the cache was a step behind another writer: retry without alarm.
      if (statusOf(err) === 409) {
        this.log.info('conflict with another write; retrying from the latest state', { statefulset: key, error: String((err as Error)?.message ?? err) });
        throw err;
      }
      this.metrics.reconcileErrors.inc();
      this.log.error('reconcile failed; retrying with backoff', { statefulset: key, error: String((err as Error)?.message ?? err) });
      throw err;
    } finally {
      this.metrics.reconcileDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  private summarize(key: string, plan: Plan, template: TemplateResult): void {
    let orphanedClaims = 0;
    let stuckDrains = 0;
    let gaveUp = 0;
    for (const o of plan.ordinals) {
      if (o.state !== 'succeeded') orphanedClaims += o.claims.length;
      if (o.state === 'gave-up') gaveUp += 1;
    }
    for (const a of plan.actions) if (a.kind === 'Report' && a.reason === 'DrainStuck') stuckDrains += 1;
    this.metrics.setSummary(key, { orphanedClaims, stuckDrains, gaveUp, invalid: plan.managed && !template.ok });
  }
}
