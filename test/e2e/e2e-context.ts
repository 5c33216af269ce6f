// Shared set-up for controller end-to-end tests: a namespace per test and a controller watching only it.
import { clusterClient, type ClusterClient } from '../../local-cluster/cluster-client.ts';
import { startController, type RunningController } from '../../local-cluster/controller-process.ts';
import { sharedControlPlane, type PlaneKind } from '../jest/shared-control-plane.ts';
import { createNamespace, deleteNamespace } from '../../local-cluster/namespaces.ts';
import { waitFor } from '../../local-cluster/processes.ts';

export interface E2EContext {
  c: ClusterClient;
  ns: string;
  controllers: RunningController[];
  /** Starts a controller restricted to this test's namespace; extra flags are appended. */
  start(args?: string[], options?: { waitReady?: boolean; env?: Record<string, string> }): Promise<RunningController>;
  /**
   * Touches the set (an annotation) and waits until `controller` has reconciled it after that: from then on,
   * whatever the controller would do about the cluster as it is now, it has done. The alternative to sleeping
   * before asserting that something did not happen.
   */
  reconciled(controller: RunningController, setName: string): Promise<void>;
}

/**
 * Installs beforeEach/afterEach hooks; the returned object is filled in before each test (the client too, so
 * a suite whose control plane was not started, its tests skipped, loads without one).
 */
export function useE2E(prefix: string, plane: PlaneKind = 'kwok'): E2EContext {
  const ctx: E2EContext = {
    c: undefined as unknown as ClusterClient,
    ns: '',
    controllers: [],
    async start(args = [], options = {}) {
      const controller = await startController(ctx.c.kubeconfig, [
        `--namespaces=${ctx.ns}`, `--leader-election-namespace=${ctx.ns}`, '--backoff-base=1s',
        '--lease-duration=4s', '--renew-deadline=3s', '--retry-period=500ms', ...args,
      ], options);
      ctx.controllers.push(controller);
      return controller;
    },
    async reconciled(controller, setName) {
      const since = Date.now();
      await ctx.c.kubectl(['-n', ctx.ns, 'annotate', '--overwrite', 'statefulset', setName, `e2e.test/touched=${since}`]);
      const key = `${ctx.ns}/${setName}`;
      await waitFor(`a reconcile of ${key}`, async () => controller.entries()
        .some((e) => e.message === 'synced' && e.statefulset === key && new Date(String(e.timestamp)).getTime() >= since), 30_000, 100);
    },
  };
  beforeEach(async () => {
    ctx.c ??= clusterClient(sharedControlPlane(plane).kubeconfig);
    ctx.ns = await createNamespace(ctx.c, prefix);
    ctx.controllers = [];
  });
  afterEach(async () => {
    for (const controller of ctx.controllers) await controller.stop('SIGKILL');
    if (process.env.SDC_SHOW_CONTROLLER_LOGS === '1') {
      for (const controller of ctx.controllers) process.stderr.write(controller.logs());
    }
    await deleteNamespace(ctx.c, ctx.ns);
  });
  return ctx;
}
