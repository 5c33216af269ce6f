// `statefulset-drain-controller run`: wires the controller, leader election and the HTTP endpoints together.
import os from 'node:os';
import { ClusterCache } from '../controller/cluster-cache.ts';
import { DrainController } from '../controller/controller.ts';
import { EventRecorder } from '../controller/events.ts';
import { Executor, NotLeaderError } from '../controller/executor.ts';
import { TemplateVerdicts } from '../controller/template-verifier.ts';
import { KubeApi } from '../kube/api.ts';
import { loadConnectionConfig } from '../kube/connection-config.ts';
import { KubeHttpClient } from '../kube/http-client.ts';
import { LeaderElector } from '../kube/leader-election.ts';
import { createLogger } from '../log.ts';
import { startHttpServers } from '../metrics/http-server.ts';
import { Metrics } from '../metrics/metrics.ts';
import { bindAddresses, logLevel, plannerSettings, type RunOptions } from './options.ts';
import { version } from './version.ts';

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete']);

export async function run(options: RunOptions): Promise<void> {
  const log = createLogger(logLevel(options), options.logFormat);
  const identity = `${process.env.POD_NAME ?? os.hostname()}_${process.pid}`;
  // The User-Agent names the replica, so the API server's audit log tells which replica wrote what.
  const connection = loadConnectionConfig({ kubeconfig: options.kubeconfig, context: options.context, warn: (message, fields) => log.warn(message, fields) });
  const client = new KubeHttpClient(connection, `statefulset-drain-controller/${version} (${identity})`,
    (method, host, code, seconds) => metrics.observeRequest(method, host, code, seconds));
  // The closures below run only after `controller` is assigned (on scrape, on a leadership change).
  const metrics: Metrics = new Metrics(() => ({
    depth: controller.queue.depth, unfinishedWorkSeconds: controller.queue.unfinishedWorkSeconds(), longestRunningSeconds: controller.queue.longestRunningSeconds(),
  }));
  // Set once the elector exists; the fence below asks it before every write other than the lease's own.
  let isLeader = (): boolean => true;
  const api = new KubeApi(client, {
    qps: options.qps, burst: options.burst,
    fence: (verb, resource) => {
      if (WRITE_VERBS.has(verb) && resource !== 'leases' && !isLeader()) throw new NotLeaderError();
    },
    observe: (verb, resource, code) => metrics.apiRequests.inc({ verb, resource, code: String(code) }),
    onRetry: (verb, resource, code, delayMs) => {
      metrics.apiRetries.inc({ verb, resource, code: String(code) });
      log.debug('retrying a request after a transient failure', { verb, resource, code, delayMs });
    },
  });
  const elector = options.leaderElect
    ? new LeaderElector(api, {
      namespace: options.leaderElectionNamespace ?? process.env.POD_NAMESPACE ?? connection.namespace ?? 'default', name: options.leaderElectionId, identity,
      leaseDurationMs: options.leaseDuration, renewDeadlineMs: options.renewDeadline, retryPeriodMs: options.retryPeriod,
    }, log, (leading) => {
      metrics.leader.set(leading ? 1 : 0);
      metrics.leaderElectionMasterStatus.set({ name: options.leaderElectionId }, leading ? 1 : 0);
      if (leading) controller.enqueueAll();
    })
    : undefined;
  if (!elector) metrics.leader.set(1);
  metrics.leaderElectionMasterStatus.set({ name: options.leaderElectionId }, elector ? 0 : 1);
  isLeader = () => elector?.isLeader() ?? true;
  const verdicts = new TemplateVerdicts();
  const view = new ClusterCache(client, api, { namespaces: options.namespaces, setSelector: options.selector, fullObjects: options.cacheFullObjects, watchIdleTimeoutMs: options.watchIdleTimeout },
    (key, urgent) => controller.queue.add(key, urgent), log);
  const writer = new Executor(api, new EventRecorder(api, identity, log, { qps: options.eventQps, burst: options.eventBurst }), verdicts, metrics, log,
    { dryRun: options.dryRun, isLeader });
  const controller: DrainController = new DrainController({ view, writer, verdicts, log, metrics, isLeader }, {
    concurrency: options.concurrency, resyncPeriodMs: options.resyncPeriod, planner: plannerSettings(options), watchIdleTimeoutMs: options.watchIdleTimeout,
  });
  const addresses = bindAddresses(options);
  const servers = await startHttpServers(addresses, metrics, controller);
  log.info('starting', {
    identity, namespaces: options.namespaces.length ? options.namespaces : 'all', dryRun: options.dryRun,
    leaderElection: options.leaderElect, server: client.server,
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    await controller.stop();
    await elector?.release();
    for (const server of servers) server.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await controller.start();
  elector?.start();
}
