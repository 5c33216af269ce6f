// How the controller loads the cluster's state: streamed (watch with sendInitialEvents) where the API server
// offers it, a paginated list where it does not (servers older than 1.32 or with WatchList off).
import { claimNames, clusterClient, eventually, type ClusterClient } from '../../local-cluster/cluster-client.ts';
import { startControlPlane, stopControlPlane } from '../../local-cluster/control-plane.ts';
import { startController, type RunningController } from '../../local-cluster/controller-process.ts';
import { createNamespace } from '../../local-cluster/namespaces.ts';
import { createReadySet, scale } from '../../local-cluster/workloads.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('sync');
const FALLBACK = 'the API server does not stream lists; listing instead';

// The cache's lists only: the volume keeper lists the volumes it marked (by label) on each of its passes, which
// is not a load of the cluster's state.
async function cacheListRequests(controller: RunningController): Promise<number> {
  const text = await controller.metrics();
  return [...text.matchAll(/^sdc_api_requests_total\{verb="list",resource="(\w+)"[^}]*\} (\d+)/gm)]
    .filter((m) => m[1] !== 'persistentvolumes')
    .reduce((sum, m) => sum + Number(m[2]), 0);
}

async function drainOneOrdinal(c: ClusterClient, ns: string): Promise<void> {
  await createReadySet(c, ns, { name: 'db', replicas: 2 });
  await scale(c, ns, 'db', 1);
  await eventually('claim of ordinal 1 released', async () => !(await claimNames(c, ns)).includes('data-db-1'));
}

test('a current API server streams the initial state: the cache sends no LIST request', async () => {
  const controller = await ctx.start();
  await drainOneOrdinal(ctx.c, ctx.ns);
  expect(controller.logs()).not.toContain(FALLBACK);
  expect(await cacheListRequests(controller)).toBe(0);
});

test('an API server without streaming lists: the controller lists instead and drains as usual', async () => {
  const cp = await startControlPlane({ apiServerFlags: ['--feature-gates=WatchList=false'], log: () => {} });
  try {
    const c = clusterClient(cp.kubeconfig);
    const ns = await createNamespace(c, 'old');
    const controller = await startController(cp.kubeconfig, [`--namespaces=${ns}`, `--leader-election-namespace=${ns}`]);
    try {
      await drainOneOrdinal(c, ns);
      expect(controller.logs()).toContain(FALLBACK);
      expect(await cacheListRequests(controller)).toBeGreaterThan(0);
    } finally {
      await controller.stop('SIGKILL');
    }
  } finally {
    await stopControlPlane(cp);
  }
}, 180_000);
