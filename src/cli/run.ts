// `statefulset-drain-controller run`: wires the controller, leader election and the HTTP endpoints together.
import os from 'node:os';
import { DrainController } from '../controller/controller.ts';
import { KubeApi } from '../kube/api.ts';
import { loadConnectionConfig } from '../kube/connection-config.ts';
import { KubeHttpClient } from '../kube/http-client.ts';
import { LeaderElector } from '../kube/leader-election.ts';
import { createLogger } from '../log.ts';
import { startHttpServer } from '../metrics/http-server.ts';
import { Metrics } from '../metrics/metrics.ts';
import type { RunOptions } from './options.ts';
import { version } from './version.ts';

export async function run(options: RunOptions): Promise<void> {
  const log = createLogger(options.logLevel, options.logFormat);
  const identity = `${process.env.POD_NAME ?? os.hostname()}_${process.pid}`;
  // The User-Agent names the replica, so the API server's audit log tells which replica wrote what.
  const client = new KubeHttpClient(loadConnectionConfig(options.kubeconfig), `statefulset-drain-controller/${version} (${identity})`);
  // The closures below run only after `controller` is assigned (on scrape, on a leadership change).
  const metrics: Metrics = new Metrics((): number => controller.queue.depth);
  const api = new KubeApi(client, {
    qps: options.qps, burst: options.burst,
    observe: (verb, resource, code) => metrics.apiRequests.inc({ verb, resource, code: String(code) }),
  });
  const elector = options.leaderElect
    ? new LeaderElector(api, {
      namespace: options.leaderElectionNamespace, name: options.leaderElectionId, identity,
      leaseDurationMs: options.leaseDuration, renewDeadlineMs: options.renewDeadline, retryPeriodMs: options.retryPeriod,
    }, log, (leading) => {
      metrics.leader.set(leading ? 1 : 0);
      if (leading) controller.enqueueAll();
    })
    : undefined;
  if (!elector) metrics.leader.set(1);
  const controller: DrainController = new DrainController(client, api, log, metrics, {
    namespaces: options.namespaces, setSelector: options.selector, concurrency: options.concurrency,
    events: { qps: options.eventQps, burst: options.eventBurst },
    dryRun: options.dryRun, cacheFullObjects: options.cacheFullObjects, resyncPeriodMs: options.resyncPeriod, instance: identity,
    planner: {
      maxAttempts: options.maxAttempts, backoffBaseMs: options.backoffBase, backoffMaxMs: options.backoffMax,
      pendingDeadlineMs: options.pendingDeadline, runningDeadlineMs: options.runningDeadline,
    },
  }, () => elector?.isLeader() ?? true);
  const server = await startHttpServer(options.httpAddress, metrics, () => controller.isReady());
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
    server.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await controller.start();
  elector?.start();
}
