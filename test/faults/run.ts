// `npm run test:faults`: seeded random runs on the local control plane with faults injected (controller
// SIGKILL and SIGSTOP, API server and etcd restarts that also cut every watch, two replicas competing, and
// through a fault-injecting proxy: 429 with Retry-After, 5xx, connection resets, latency, silent watches),
// then the invariants are checked from the audit log and a pod timeline. Replay a run with --seed.
import { parseArgs } from 'node:util';
import { claimNames, clusterClient, eventReasons, listClaims, type ClusterClient } from '../../local-cluster/cluster-client.ts';
import { startComponent, startControlPlane, stopComponent, stopControlPlane, type ControlPlane } from '../../local-cluster/control-plane.ts';
import { startController, type RunningController } from '../../local-cluster/controller-process.ts';
import { sleep, waitFor } from '../../local-cluster/processes.ts';
import { createLookAlikeDrainPod, createReadySet, scale, simulatedDrain } from '../../local-cluster/workloads.ts';
import { readAudit } from '../../local-cluster/audit.ts';
import { FaultProxy, type Fault as ProxyFault } from '../../local-cluster/fault-proxy.ts';
import { PodHistory } from './history.ts';
import { checkInvariants } from './invariants.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    steps: { type: 'string', default: '25' },
    seed: { type: 'string' },
  },
});

/** mulberry32: a small seeded PRNG, so a run can be replayed exactly from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LEASE = ['--lease-duration=4s', '--renew-deadline=3s', '--retry-period=500ms', '--backoff-base=1s', '--backoff-max=4s'];
const LEADER_GAP_MS = 1000; // lease duration minus renew deadline
const NS = 'faults';
type Fault = 'kill-controller' | 'pause-controller' | 'restart-apiserver' | 'restart-etcd' | 'api-faults';
const FAULTS: Fault[] = ['kill-controller', 'pause-controller', 'restart-apiserver', 'restart-etcd', 'api-faults'];
/** What the proxy injects during an api-faults step, each as likely as the others. */
const API_FAULTS: ProxyFault[] = [
  { kind: 'status', code: 429, retryAfterSeconds: 1 }, { kind: 'status', code: 500 }, { kind: 'status', code: 503 },
  { kind: 'reset' }, { kind: 'delay', ms: 500 },
];

interface RunResult {
  seed: number;
  faults: Record<string, number>;
  /** What the proxy injected during api-faults steps, by kind. */
  proxyFaults: Record<string, number>;
  drainsCompleted: number;
  claimsDeleted: number;
  violations: string[];
  recoverySeconds: number;
  failedDrainReported: boolean;
}

/** Retries an API call through API server and etcd restarts. */
async function retrying(what: string, fn: () => Promise<unknown>): Promise<void> {
  await waitFor(what, async () => {
    await fn();
    return true;
  }, 60_000, 500);
}

async function oneRun(seed: number, steps: number): Promise<RunResult> {
  const random = rng(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  const cp: ControlPlane = await startControlPlane({ log: () => {} });
  const c: ClusterClient = clusterClient(cp.kubeconfig);
  // The controllers reach the API server through the proxy, which passes everything on except during api-faults.
  const proxy = await FaultProxy.start(cp.kubeconfig, cp.dir);
  const faults: Record<string, number> = {};
  const replicas: Array<RunningController | undefined> = [undefined, undefined];
  const start = async (i: number) => {
    replicas[i] = await startController(proxy.kubeconfig, ['--watch-idle-timeout=5s', `--namespaces=${NS}`, `--leader-election-namespace=${NS}`, `--log-level=${process.env.SDC_FAULTS_LOG_LEVEL ?? 'info'}`, ...LEASE], { waitReady: false });
  };
  let violations: string[] = [];
  let keep = false;
  try {
    await c.core.createNamespace({ body: { metadata: { name: NS } } });
    await waitFor('default ServiceAccount', async () => c.core.readNamespacedServiceAccount({ namespace: NS, name: 'default' }), 30_000);
    const history = new PodHistory(c.kubeconfig);
    await history.start();
    await start(0);
    await start(1);
    await createReadySet(c, NS, { name: 'alpha', replicas: 4, template: simulatedDrain({ after: '1s' }) });
    await createReadySet(c, NS, { name: 'beta', replicas: 4, policy: 'Parallel', template: simulatedDrain({ after: '2s' }) });
    await createReadySet(c, NS, {
      name: 'gamma', replicas: 3, policy: 'Parallel', template: simulatedDrain({ after: '1s', phase: 'Failed', restartPolicy: 'Never' }),
      annotations: { 'statefulsets.kubernetes.io/drainer-max-attempts': '2' },
    });
    // Refused input (restartPolicy Always): invariant 5, nothing but a Warning event, however faults fall.
    await createReadySet(c, NS, { name: 'delta', replicas: 2, template: simulatedDrain({ restartPolicy: 'Always' }) });
    await retrying('scale gamma', () => scale(c, NS, 'gamma', 1));
    await retrying('scale delta', () => scale(c, NS, 'delta', 1));
    // Claims whose ordinal never leaves the range must survive every run with the UID they have now.
    const keptUids = async () => new Map((await listClaims(c, NS))
      .filter((p) => ['data-alpha-0', 'data-beta-0', 'data-gamma-0', 'data-gamma-1', 'data-gamma-2'].includes(p.metadata!.name!))
      .map((p) => [p.metadata!.name!, p.metadata!.deletionTimestamp ? 'deleting' : p.metadata!.uid!]));
    const uidsBefore = await keptUids();
    // An attacker who may create pods: a look-alike drain pod listing and mounting a live replica's claim.
    await createLookAlikeDrainPod(c, NS, 'alpha', 99, 'data-alpha-0');

    let lastFault = Date.now();
    for (let step = 0; step < steps; step++) {
      await retrying('scale', () => scale(c, NS, pick(['alpha', 'beta']), 1 + Math.floor(random() * 4)));
      if (random() < 0.6) {
        const fault = pick(FAULTS);
        faults[fault] = (faults[fault] ?? 0) + 1;
        const i = Math.floor(random() * 2);
        if (fault === 'kill-controller') {
          await replicas[i]?.stop('SIGKILL');
          await sleep(random() * 3000);
          await start(i);
        } else if (fault === 'api-faults') {
          // A bad spell: a third of all requests fail or stall, and the watches open now go silent.
          proxy.randomFaults = { rate: 0.3, faults: API_FAULTS, random };
          proxy.silenceOpenWatches();
          await sleep(4000 + random() * 4000);
          proxy.randomFaults = undefined;
        } else if (fault === 'pause-controller') {
          // Paused for longer than the lease: the other replica must take over, this one must not act on waking.
          replicas[i]?.process.kill('SIGSTOP');
          await sleep(5000 + random() * 2000);
          replicas[i]?.process.kill('SIGCONT');
        } else {
          const component = fault === 'restart-apiserver' ? 'kube-apiserver' : 'etcd';
          await stopComponent(cp, component, 2000);
          await sleep(random() * 2000);
          await startComponent(cp, component);
        }
        lastFault = Date.now();
      }
      await sleep(1000 + random() * 3000);
    }

    // Faults stop. Every orphan must now be drained, and the failing drains reported, not deleted.
    await retrying('final scale', async () => {
      await scale(c, NS, 'alpha', 1);
      await scale(c, NS, 'beta', 2);
    });
    await waitFor('converged', async () => {
      const claims = await claimNames(c, NS);
      const alpha = claims.filter((n) => n.startsWith('data-alpha-'));
      const beta = claims.filter((n) => n.startsWith('data-beta-'));
      const drains = (await c.core.listNamespacedPod({ namespace: NS, labelSelector: 'drain.statefulsets.kubernetes.io/role=drainer' })).items
        .filter((p) => !p.metadata?.name?.startsWith('gamma-'));
      return alpha.length === 1 && beta.length === 2 && drains.length === 0 ? true : undefined;
    }, 180_000, 500).catch(async (err: unknown) => {
      // What the cluster looked like when it did not converge, for the replay.
      console.log(await c.kubectl(['-n', NS, 'get', 'statefulsets,pods,persistentvolumeclaims', '-o', 'wide']).catch(String));
      console.log(`  controller logs: ${replicas.map((r) => r?.logFile).join(' ')}`);
      keep = true;
      throw err;
    });
    const recoverySeconds = (Date.now() - lastFault) / 1000;
    const gammaClaims = (await claimNames(c, NS)).filter((n) => n.startsWith('data-gamma-'));
    const failedDrainReported = (await eventReasons(c, NS, 'gamma')).includes('DrainFailed') && gammaClaims.length === 3;

    for (const r of replicas) await r?.stop('SIGKILL');
    await history.stop();
    const audit = readAudit(cp.auditLog);
    violations = checkInvariants(audit, history.sightings, {
      leaderGapMs: LEADER_GAP_MS, claimTemplates: ['data'], orderedReady: [`${NS}/alpha`], refusedSets: [`${NS}/delta`],
    });
    if (!(await eventReasons(c, NS, 'delta')).includes('InvalidDrainerTemplate')) violations.push('delta\'s refused template was not reported');
    const uidsAfter = await keptUids();
    for (const [name, uid] of uidsBefore) {
      if (uidsAfter.get(name) !== uid) violations.push(`claim ${name} of an ordinal that never left the range changed: ${uid} -> ${uidsAfter.get(name) ?? 'gone'}`);
    }
    if (!failedDrainReported) violations.push(`gamma's failed drain was not reported or its claims were touched (claims: ${gammaClaims.join(', ')})`);
    const ours = audit.filter((e) => e.userAgent.startsWith('statefulset-drain-controller/') && e.code >= 200 && e.code < 300);
    return {
      seed, faults, violations, recoverySeconds, failedDrainReported, proxyFaults: { ...proxy.injected },
      drainsCompleted: ours.filter((e) => e.verb === 'delete' && e.resource === 'pods').length,
      claimsDeleted: ours.filter((e) => e.verb === 'delete' && e.resource === 'persistentvolumeclaims').length,
    };
  } finally {
    for (const r of replicas) await r?.stop('SIGKILL');
    await proxy.stop();
    await stopControlPlane(cp, { keepDir: keep || violations.length > 0 });
    if (keep || violations.length > 0) console.log(`  logs and audit log kept in ${cp.dir}`);
  }
}

const runs = Number(args.runs);
const steps = Number(args.steps);
const firstSeed = args.seed ? Number(args.seed) : Math.floor(Math.random() * 2 ** 31);
const results: RunResult[] = [];
for (let r = 0; r < runs; r++) {
  const seed = firstSeed + r;
  console.log(`run ${r + 1}/${runs}: seed ${seed} (replay: npm run test:faults -- --runs 1 --steps ${steps} --seed ${seed})`);
  const result = await oneRun(seed, steps);
  console.log(`  faults ${JSON.stringify(result.faults)}; injected by the proxy ${JSON.stringify(result.proxyFaults)}; drain pods deleted ${result.drainsCompleted}; claims deleted ${result.claimsDeleted}; ` +
    `recovered ${result.recoverySeconds.toFixed(1)}s after the last fault; violations ${result.violations.length}`);
  for (const v of result.violations) console.log(`  VIOLATION: ${v}`);
  results.push(result);
}
const total = (f: (r: RunResult) => number) => results.reduce((s, r) => s + f(r), 0);
const faultTotals: Record<string, number> = {};
for (const r of results) for (const [k, v] of Object.entries(r.faults)) faultTotals[k] = (faultTotals[k] ?? 0) + v;
console.log(`\nfault suite: ${runs} runs, faults ${JSON.stringify(faultTotals)}, drain pods deleted ${total((r) => r.drainsCompleted)}, ` +
  `claims deleted ${total((r) => r.claimsDeleted)}, longest recovery ${Math.max(...results.map((r) => r.recoverySeconds)).toFixed(1)}s`);
const violations = total((r) => r.violations.length);
console.log(`${runs - results.filter((r) => r.violations.length > 0).length} passed, ${results.filter((r) => r.violations.length > 0).length} failed`);
process.exit(violations === 0 ? 0 : 1);
