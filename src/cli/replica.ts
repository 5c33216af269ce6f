// One controller replica assembled from its flags (as sample-controller's NewController, then Run): the API
// client behind the leader's write fence, the cache, the executor, the controller and, with --leader-elect,
// the elector. `start` opens the HTTP endpoints and begins to watch and elect; `stop` undoes it.
import type http from 'node:http';
import os from 'node:os';
import { ClusterCache } from '../controller/cluster-cache.ts';
import { DrainController } from '../controller/controller.ts';
import { EventRecorder } from '../controller/events.ts';
import { ApiDrainControl } from '../controller/drain-control.ts';
import { Executor } from '../controller/executor.ts';
import { TemplateVerdicts } from '../controller/template-verifier.ts';
import { KubeApi } from '../kube/api.ts';
import { loadConnectionConfig } from '../kube/connection-config.ts';
import { KubeHttpClient } from '../kube/http-client.ts';
import { LeaderElector } from '../kube/leader-election.ts';
import { createLogger, type Logger } from '../log.ts';
import { startHttpServers } from '../metrics/http-server.ts';
import { Metrics } from '../metrics/metrics.ts';
import { bindAddresses, logLevel, plannerSettings, type RunOptions } from './options.ts';
import { version } from './version.ts';
import { CONTROLLER_NAME } from '../names.ts';
import { leaderWriteFence } from './write-fence.ts';
import { keepVolumeRefusal, missingVolumeVerbs } from './keep-volume-permissions.ts';
import { VolumeKeeper } from '../controller/volume-keeper.ts';
import { ServerClock } from '../kube/server-clock.ts';

export class Replica {
  /** `<pod or host name>_<pid>`: the lease holder's name and, in the User-Agent, the audit log's. */
  readonly identity: string;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly api: KubeApi;
  readonly elector?: LeaderElector;
  readonly controller: DrainController;
  /** Ends the keeps of kept volumes; started only when the permissions to keep volumes are granted. */
  private readonly keeper: VolumeKeeper;
  private keeping = false;
  private readonly options: RunOptions;
  private readonly server: string;
  private servers: http.Server[] = [];

  constructor(options: RunOptions, identity = `${process.env.POD_NAME ?? os.hostname()}_${process.pid}`) {
    this.options = options;
    this.identity = identity;
    const log = this.log = createLogger(logLevel(options), options.logFormat);
    const connection = loadConnectionConfig({ kubeconfig: options.kubeconfig, context: options.context,
      warn: (message, fields) => log.warn(message, fields) });
    this.server = connection.server;
    // The metrics read the queue only on a scrape, after the constructor has assigned the controller.
    const metrics = this.metrics = new Metrics(() => ({
      depth: this.controller.queue.depth,
      unfinishedWorkSeconds: this.controller.queue.unfinishedWorkSeconds(),
      longestRunningSeconds: this.controller.queue.longestRunningSeconds(),
    }));
    const clock = new ServerClock();
    const client = new KubeHttpClient(connection, `${CONTROLLER_NAME}/${version} (${identity})`,
      (method, host, code, seconds) => metrics.observeRequest(method, host, code, seconds), clock);
    const isLeader = () => this.elector?.isLeader() ?? true;
    const api = this.api = new KubeApi(client, {
      qps: options.qps, burst: options.burst,
      fence: leaderWriteFence(isLeader),
      observe: (verb, resource, code) => metrics.apiRequests.inc({ verb, resource, code: String(code) }),
      onRetry: (verb, resource, code, delayMs) => {
        metrics.apiRetries.inc({ verb, resource, code: String(code) });
        log.debug('retrying a request after a transient failure', { verb, resource, code, delayMs });
      },
    });
    if (options.leaderElect) {
      this.elector = new LeaderElector(api, {
        namespace: options.leaderElectionNamespace ?? process.env.POD_NAMESPACE ?? connection.namespace ?? 'default',
        name: options.leaderElectionId, identity,
        leaseDurationMs: options.leaseDuration, renewDeadlineMs: options.renewDeadline, retryPeriodMs: options.retryPeriod,
      }, log, (leading) => {
        metrics.leader.set(leading ? 1 : 0);
        metrics.leaderElectionMasterStatus.set({ name: options.leaderElectionId }, leading ? 1 : 0);
        if (!leading) return;
        this.controller.enqueueAll();
        if (this.keeping) this.keeper.poke();
      });
    }
    metrics.leader.set(this.elector ? 0 : 1);
    metrics.leaderElectionMasterStatus.set({ name: options.leaderElectionId }, this.elector ? 0 : 1);
    const verdicts = new TemplateVerdicts();
    const view = new ClusterCache(client, api, {
      namespaces: options.namespaces, setSelector: options.selector, fullObjects: options.cacheFullObjects,
      watchIdleTimeoutMs: options.watchIdleTimeout,
    }, (key, urgent) => this.controller.queue.add(key, urgent), log);
    const events = new EventRecorder(api, identity, log, { qps: options.eventQps, burst: options.eventBurst });
    const control = new ApiDrainControl(api, events, verdicts, metrics, log, isLeader, (until) => this.keeper.wakeAt(until));
    const writer = new Executor(control, metrics, log, { dryRun: options.dryRun, isLeader });
    const now = () => clock.now();
    this.controller = new DrainController({ view, writer, verdicts, log, metrics, isLeader, now }, {
      concurrency: options.concurrency, resyncPeriodMs: options.resyncPeriod, planner: plannerSettings(options),
      watchIdleTimeoutMs: options.watchIdleTimeout,
    });
    this.keeper = new VolumeKeeper(api, options.namespaces, events, metrics, log, () => !options.dryRun && isLeader(),
      Math.min(options.resyncPeriod, 60_000), now);
  }

  /**
   * Opens /metrics and the probes, fills the cache, then (with --leader-elect) begins to compete for the
   * lease. Rejects, with what is wrong, when a port is taken or a list or watch the cache needs is refused.
   */
  async start(): Promise<void> {
    this.servers = await startHttpServers(bindAddresses(this.options), this.metrics, this.controller);
    this.log.info('starting', {
      identity: this.identity, namespaces: this.options.namespaces.length ? this.options.namespaces : 'all', dryRun: this.options.dryRun,
      leaderElection: this.options.leaderElect, server: this.server,
    });
    const missing = await missingVolumeVerbs(this.api);
    // (A dry run writes nothing, so it needs no write permission.)
    if (missing.length > 0 && this.options.keepVolume > 0 && !this.options.dryRun) throw keepVolumeRefusal(missing);
    this.keeping = missing.length === 0;
    if (!this.keeping) this.log.info('keeping volumes is off: no permission on persistentvolumes (sets that ask for it are not released)');
    await this.controller.start();
    if (this.keeping) this.keeper.start();
    this.elector?.start();
  }

  /** Finishes the syncs under way, hands the lease back and closes the endpoints. */
  async stop(): Promise<void> {
    await this.keeper.stop();
    await this.controller.stop();
    await this.elector?.release();
    for (const server of this.servers) server.close();
  }
}
