// One batch: a fresh control plane, two controller replicas behind the fault-injecting proxy, and several
// worlds that share them. Each step every world scales one of its sets, then (60% of steps) one fault hits
// everyone. When the faults stop, every world must converge, then each is checked on its own.
import { clusterClient } from '../../local-cluster/cluster-client.ts';
import { startControlPlane, stopControlPlane, type ControlPlane } from '../../local-cluster/control-plane.ts';
import { readAudit } from '../../local-cluster/audit.ts';
import { FaultProxy } from '../../local-cluster/fault-proxy.ts';
import { sleep, waitFor } from '../../local-cluster/processes.ts';
import { describeApiError as describeError } from '../../src/kube/api.ts';
import { FAULTS, inject, type FaultKind } from './faults.ts';
import { PodHistory } from './history.ts';
import { currentCommit, type LedgerEntry } from './ledger.ts';
import { rng } from './random.ts';
import { LEADER_GAP_MS, LEASE_NAMESPACE, replicaKubeconfigs, Replicas } from './replicas.ts';
import { World } from './world.ts';

export interface BatchOptions {
  seed: number;
  worlds: number;
  steps: number;
  /** The kinds of fault to draw from (all when absent). */
  faults?: readonly FaultKind[];
  log: (line: string) => void;
}

/** Seeds of the worlds of a batch: derived from the batch seed, so the batch seed replays everything. */
const worldSeed = (batchSeed: number, world: number) => (Math.imul(batchSeed, 1000) + world + 1) >>> 0;

export async function runBatch(options: BatchOptions): Promise<LedgerEntry[]> {
  const { seed, steps, log } = options;
  const random = rng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const date = new Date().toISOString();
  const commit = currentCommit();
  const faults: Record<string, number> = {};
  const withoutEffect: Record<string, number> = {};
  const cp: ControlPlane = await startControlPlane({ log: () => {} });
  const c = clusterClient(cp.kubeconfig);
  // The replicas reach the API server through the proxy, which passes everything on except during api-faults.
  const proxy = await FaultProxy.start(cp.kubeconfig, cp.dir);
  const worlds = Array.from({ length: options.worlds }, (_, w) => new World(c, `faults-${w}`, worldSeed(seed, w)));
  // Filled in once the replicas' ServiceAccounts exist (replicaKubeconfigs), before either starts.
  const kubeconfigs: string[] = [];
  const replicas = new Replicas(kubeconfigs, cp.dir, [
    '--watch-idle-timeout=5s', `--namespaces=${worlds.map((w) => w.namespace).join(',')}`,
    `--leader-election-namespace=${LEASE_NAMESPACE}`, `--log-level=${process.env.SDC_FAULTS_LOG_LEVEL ?? 'info'}`,
  ]);
  const history = new PodHistory(c.kubeconfig);
  const entry = (w: World, index: number, fields: Partial<LedgerEntry>): LedgerEntry => ({
    date, commit, batchSeed: seed, worlds: options.worlds, world: index, seed: w.seed, steps, faults,
    faultsWithoutEffect: { ...withoutEffect }, proxyFaults: { ...proxy.injected },
    drainsCompleted: 0, claimsReleased: 0, violations: [], recoverySeconds: null, ...fields,
  });
  let keep = false;
  try {
    await c.core.createNamespace({ body: { metadata: { name: LEASE_NAMESPACE } } });
    kubeconfigs.push(...await replicaKubeconfigs(c, proxy.kubeconfig, cp.dir));
    await history.start();
    await replicas.start(0);
    await replicas.start(1);
    await Promise.all(worlds.map((w) => w.create()));

    let lastFault = Date.now();
    const ctx = { cp, c, proxy, replicas, random, namespaces: worlds.map((w) => w.namespace), log };
    for (let step = 0; step < steps; step++) {
      await Promise.all(worlds.map((w) => w.step()));
      if (random() < 0.6) {
        const fault: FaultKind = pick(options.faults ?? FAULTS);
        log(`  step ${step + 1}/${steps}: ${fault}`);
        // Counted only when it took effect (see inject); one that did not is listed apart.
        if (await inject(fault, ctx)) faults[fault] = (faults[fault] ?? 0) + 1;
        else withoutEffect[fault] = (withoutEffect[fault] ?? 0) + 1;
        lastFault = Date.now();
      }
      await sleep(1000 + random() * 3000);
    }

    await Promise.all(worlds.map((w) => w.finish()));
    // A lost node's pods are only garbage-collected after a 40 s quarantine, so convergence may take a while.
    const recovery = await Promise.all(worlds.map(async (w) => {
      try {
        await waitFor(`${w.namespace} converged`, async () => ((await w.converged()) ? true : undefined), 240_000, 500);
        return (Date.now() - lastFault) / 1000;
      } catch (err) {
        log(`  ${w.namespace} did not converge:\n${await w.describe()}`);
        return describeError(err);
      }
    }));
    await replicas.stopAll();
    await history.stop();
    const audit = readAudit(cp.auditLog);
    const entries: LedgerEntry[] = [];
    for (const [index, w] of worlds.entries()) {
      const outcome = await w.check(audit, history.sightings, LEADER_GAP_MS);
      const recovered = recovery[index];
      entries.push(entry(w, index, {
        ...outcome, recoverySeconds: typeof recovered === 'number' ? Math.round(recovered * 10) / 10 : null,
        ...(typeof recovered === 'string' ? { error: recovered } : {}),
      }));
    }
    // SDC_KEEP_FAULT_LOGS=1 keeps them from a run that passed too (to see where a slow recovery spent its time).
    keep = process.env.SDC_KEEP_FAULT_LOGS === '1' || entries.some((e) => e.violations.length > 0 || e.error !== undefined);
    return entries;
  } catch (err) {
    keep = true;
    log(`  batch failed: ${describeError(err)}`);
    return worlds.map((w, index) => entry(w, index, { error: `batch failed: ${describeError(err)}` }));
  } finally {
    await replicas.stopAll();
    await history.stop().catch(() => {});
    await proxy.stop();
    await stopControlPlane(cp, { keepDir: keep });
    if (keep) log(`  logs, audit log and controller logs kept: ${cp.dir} ${replicas.running.map((r) => r?.logFile).join(' ')}`);
  }
}
