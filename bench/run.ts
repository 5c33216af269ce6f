// `npm run bench`: reaction latency, storm throughput, memory and API cost of the controller as the
// number of StatefulSets grows, on the local control plane. Results go to bench/results/.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import PQueue from 'p-queue';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { clusterClient, type ClusterClient } from '../test/harness/cluster-client.ts';
import { startControlPlane, stopControlPlane } from '../test/harness/control-plane.ts';
import { startController, type RunningController } from '../test/harness/controller-process.ts';
import { waitFor } from '../test/harness/processes.ts';
import { claimBody, podBody, populate, type SetRef } from './populate.ts';
import { Observer } from './observe.ts';
import { diffCounts, metricValue, percentile, requestCounts } from './prometheus.ts';
import { writeCharts } from './charts.ts';
import { writeReport, type SizeResult } from './report.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100,1000,10000' },
    samples: { type: 'string', default: '200' },
    storm: { type: 'string', default: '1000' },
    idle: { type: 'string', default: '30' },
    out: { type: 'string', default: path.join(root, 'bench', 'results') },
    smoke: { type: 'boolean', default: false },
    /** Extra controller flags, e.g. "--qps=200 --burst=400", to see what a setting would change (not for the published run). */
    'controller-args': { type: 'string', default: '' },
    /** Add these sizes to the existing results.json instead of replacing it (large sizes take long). */
    append: { type: 'boolean', default: false },
  },
});
const smoke = args.smoke!;
const sizes = smoke ? [10] : args.sizes!.split(',').map(Number);
const samples = smoke ? 5 : Number(args.samples);
const stormOrdinals = smoke ? 8 : Number(args.storm);
const idleSeconds = smoke ? 2 : Number(args.idle);
const out = args.out!;
const controllerArgs = args['controller-args']!.split(/\s+/).filter(Boolean);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const log = (text: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the controller's start-up work is done (the queue is empty and it has sent nothing but lease
 * renewals for 3 s): on its first start in a cluster it adds its finalizer to every managed set. Returns
 * the seconds that took and the writes it made.
 */
async function startupWork(controller: RunningController): Promise<{ seconds: number; requests: Record<string, number> }> {
  const start = performance.now();
  const busy = (text: string) => Object.entries(requestCounts(text)).filter(([k]) => !k.endsWith('leases')).reduce((sum, [, v]) => sum + v, 0);
  let last = -1;
  let text = '';
  for (;;) {
    text = await controller.metrics();
    if (metricValue(text, 'sdc_queue_depth') === 0 && busy(text) === last) break;
    last = busy(text);
    await sleep(3000);
  }
  const requests = Object.fromEntries(Object.entries(requestCounts(text)).filter(([k]) => !k.endsWith('leases')));
  return { seconds: (performance.now() - start) / 1000 - 3, requests };
}

/** Memory once the initial sync and the first reconcile of every set are over (after the idle window). */
async function memoryAfterSync(controller: RunningController): Promise<{ rssMB: number; heapMB: number; syncMs: number }> {
  await sleep(idleSeconds * 1000);
  const text = await controller.metrics();
  const synced = controller.entries().find((e) => e.message === 'caches synced');
  return {
    rssMB: metricValue(text, 'process_resident_memory_bytes') / 2 ** 20,
    heapMB: metricValue(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    syncMs: Number(synced?.ms ?? NaN),
  };
}

/** True once the object is gone (404); any other error is thrown, so waitFor retries instead of believing it. */
async function gone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return true;
    throw err;
  }
}

/** Puts a sampled set back to 3 replicas, as it was, once its drain is over. */
async function restore(c: ClusterClient, set: SetRef): Promise<void> {
  await waitFor('drain finished', async () => (await gone(() => c.core.readNamespacedPod({ namespace: set.namespace, name: `${set.name}-2` }))) || undefined, 60_000);
  await waitFor('claim gone', async () => (await gone(() => c.core.readNamespacedPersistentVolumeClaim({ namespace: set.namespace, name: `data-${set.name}-2` }))) || undefined, 60_000);
  // Replicas first: a claim that reappeared while the set is at 2 would be (rightly) drained again.
  await c.apps.patchNamespacedStatefulSet({ namespace: set.namespace, name: set.name, body: { spec: { replicas: 3 } } }, mergePatch);
  // Retried: a name can still be taken for a moment by an object that is going away.
  await waitFor('claim recreated', async () => c.core.createNamespacedPersistentVolumeClaim({ namespace: set.namespace, body: claimBody(set, 2) }), 60_000);
  await waitFor('pod recreated', async () => c.core.createNamespacedPod({ namespace: set.namespace, body: podBody(set, 2) }), 60_000);
}

async function scaleDownSamples(c: ClusterClient, obs: Observer, sets: SetRef[], controller: RunningController) {
  const reaction: number[] = [];
  const release: number[] = [];
  const restores = new PQueue({ concurrency: 4 });
  const before = requestCounts(await controller.metrics());
  for (let i = 0; i < samples; i++) {
    const set = sets[i % sets.length]!;
    if (i >= sets.length) await restores.onIdle();
    const claim = await c.core.readNamespacedPersistentVolumeClaim({ namespace: set.namespace, name: `data-${set.name}-2` });
    const pod = await c.core.readNamespacedPod({ namespace: set.namespace, name: `${set.name}-2` });
    await c.apps.patchNamespacedStatefulSet({ namespace: set.namespace, name: set.name, body: { spec: { replicas: 2 } } }, mergePatch);
    const seen = new Set(obs.drainCreated.keys());
    await c.core.deleteNamespacedPod({ namespace: set.namespace, name: `${set.name}-2`, gracePeriodSeconds: 0, body: { preconditions: { uid: pod.metadata!.uid } } });
    const deletedAt = performance.now();
    const prefix = `${set.namespace}/${set.name}-2/`;
    const created = await waitFor('drain pod', async () => [...obs.drainCreated].find(([k]) => k.startsWith(prefix) && !seen.has(k)), 60_000);
    reaction.push(created[1] - deletedAt);
    const succeeded = await waitFor('drain Succeeded', async () => obs.drainSucceeded.get(created[0]), 60_000).catch(async (err: unknown) => {
      const pods = await c.core.listNamespacedPod({ namespace: set.namespace, labelSelector: 'drain.statefulsets.kubernetes.io/role=drainer' });
      log(`sample ${i}: ${String(err)}; drain pods now: ${JSON.stringify(pods.items.map((p) => [p.metadata?.name, p.metadata?.uid, p.status?.phase, p.spec?.nodeName]))}; key ${created[0]}`);
      throw err;
    });
    const claimDeleted = await waitFor('claim deleted', async () => obs.claimDeleted.get(`${set.namespace}/data-${set.name}-2/${claim.metadata!.uid}`), 60_000);
    release.push(claimDeleted - succeeded);
    void restores.add(() => restore(c, set));
  }
  await restores.onIdle();
  const perDrain = diffCounts(requestCounts(await controller.metrics()), before, samples);
  return { reaction, release, perDrain };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/** CPU seconds each process used while `during` ran: what the machine's 2 cores went to. */
async function cpuUse<T>(pids: Record<string, number>, during: () => Promise<T>): Promise<{ result: T; cpuSeconds: Record<string, number>; wallSeconds: number }> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const start = performance.now();
  const result = await during();
  const wallSeconds = (performance.now() - start) / 1000;
  const used = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, Number((cpuSeconds(pid) - before[name]!).toFixed(2))]));
  return { result, cpuSeconds: used, wallSeconds };
}

/** Latency of a small GET every 100 ms while `during` runs: how the API server fares for everyone else. */
async function probeApiServer<T>(c: ClusterClient, during: () => Promise<T>): Promise<{ result: T; latencyMs: number[] }> {
  const latencyMs: number[] = [];
  let running = true;
  const probing = (async () => {
    while (running) {
      const start = performance.now();
      await c.core.readNamespace({ name: 'default' });
      latencyMs.push(performance.now() - start);
      await sleep(100);
    }
  })();
  try {
    return { result: await during(), latencyMs };
  } finally {
    running = false;
    await probing;
  }
}

async function storm(c: ClusterClient, obs: Observer, sets: SetRef[]) {
  const ordinals = sets.flatMap((s) => Array.from({ length: s.replicas - 1 }, (_, i) => ({ set: s, ordinal: i + 1 })));
  const seen = new Set(obs.drainCreated.keys());
  const queue = new PQueue({ concurrency: 64 });
  const start = performance.now();
  for (const s of sets) {
    void queue.add(async () => {
      await c.apps.patchNamespacedStatefulSet({ namespace: s.namespace, name: s.name, body: { spec: { replicas: 1 } } }, mergePatch);
      for (let o = 1; o < s.replicas; o++) await c.core.deleteNamespacedPod({ namespace: s.namespace, name: `${s.name}-${o}`, gracePeriodSeconds: 0 });
    });
  }
  await queue.onIdle();
  const orphaned = performance.now();
  await waitFor('every storm drain pod', async () => ([...obs.drainCreated.keys()].filter((k) => k.startsWith('storm-') && !seen.has(k)).length >= ordinals.length) || undefined, 600_000, 20);
  const allCreated = Math.max(...[...obs.drainCreated].filter(([k]) => k.startsWith('storm-') && !seen.has(k)).map(([, t]) => t));
  await waitFor('every storm claim released', async () => ([...obs.claimDeleted.keys()].filter((k) => k.startsWith('storm-')).length >= ordinals.length) || undefined, 900_000, 50);
  const allReleased = Math.max(...[...obs.claimDeleted].filter(([k]) => k.startsWith('storm-')).map(([, t]) => t));
  return {
    ordinals: ordinals.length,
    orphaningSeconds: (orphaned - start) / 1000,
    allDrainPodsCreatedSeconds: (allCreated - orphaned) / 1000,
    allClaimsReleasedSeconds: (allReleased - orphaned) / 1000,
  };
}

async function runSize(size: number): Promise<SizeResult> {
  log(`size ${size}: starting a control plane without the StatefulSet controller`);
  // Without the StatefulSet controller: the benchmark plays its part.
  const cp = await startControlPlane({ controllers: '*,-statefulset', log });
  try {
    const c = clusterClient(cp.kubeconfig);
    const namespaces = Math.min(100, Math.max(10, Math.round(size / 100)));
    const t0 = Date.now();
    const sets = await populate(c, size, namespaces, 'bench', 3, (n) => log(`  populated ${n}/${size} annotated (+ as many unannotated) sets`));
    const stormSets = await populate(c, Math.ceil(stormOrdinals / 4), 10, 'storm', 5);
    const populateSeconds = (Date.now() - t0) / 1000;
    log(`size ${size}: populated in ${populateSeconds.toFixed(0)}s`);

    const full = await startController(cp.kubeconfig, ['--cache-full-objects', '--log-level=info', ...controllerArgs], { compiled: true });
    const firstStart = await startupWork(full);
    log(`size ${size}: first start: ${JSON.stringify(firstStart.requests)} in ${firstStart.seconds.toFixed(0)}s`);
    const fullMemory = await memoryAfterSync(full);
    await full.stop();
    const controller = await startController(cp.kubeconfig, ['--log-level=info', ...controllerArgs], { compiled: true });
    const restart = await startupWork(controller);
    const idleBefore = await controller.metrics();
    const memory = await memoryAfterSync(controller);
    const idleAfter = await controller.metrics();
    log(`size ${size}: synced in ${memory.syncMs} ms; RSS ${memory.rssMB.toFixed(0)} MB (${fullMemory.rssMB.toFixed(0)} MB caching whole objects)`);
    const idle = {
      seconds: idleSeconds,
      cpuPercent: ((metricValue(idleAfter, 'process_cpu_seconds_total') - metricValue(idleBefore, 'process_cpu_seconds_total')) / idleSeconds) * 100,
      requests: diffCounts(requestCounts(idleAfter), requestCounts(idleBefore)),
    };

    const obs = new Observer(cp.kubeconfig);
    await obs.start();
    log(`size ${size}: ${samples} single scale-downs`);
    const single = await scaleDownSamples(c, obs, sets, controller);
    const idleProbe = await probeApiServer(c, () => sleep(5000));
    log(`size ${size}: storm of ${stormOrdinals} orphaned ordinals`);
    const pids = { ...Object.fromEntries(Object.entries(cp.components).map(([name, comp]) => [name, comp.pid])), controller: controller.process.pid! };
    const benchCpuBefore = process.cpuUsage();
    const stormCpu = await cpuUse(pids, () => probeApiServer(c, () => storm(c, obs, stormSets)));
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const stormProbe = stormCpu.result;
    const stormResult = {
      ...stormProbe.result, apiServerProbeMs: { idle: idleProbe.latencyMs, storm: stormProbe.latencyMs },
      cpuSeconds: { ...stormCpu.cpuSeconds, benchmark: Number(((benchCpu.user + benchCpu.system) / 1e6).toFixed(2)) }, wallSeconds: stormCpu.wallSeconds,
    };
    log(`size ${size}: CPU seconds in the storm (${stormCpu.wallSeconds.toFixed(1)}s of wall time, 2 cores): ${JSON.stringify(stormResult.cpuSeconds)}`);
    await obs.stop();
    await controller.stop();
    const result: SizeResult = {
      size, namespaces, populateSeconds, storm: stormResult, idle, startup: { first: firstStart, restart },
      memory: { trimmed: memory, fullObjects: fullMemory },
      reactionMs: single.reaction, releaseMs: single.release, requestsPerDrain: single.perDrain,
    };
    log(`size ${size}: reaction p50/p90/p99 ${[50, 90, 99].map((p) => percentile(single.reaction, p).toFixed(1)).join('/')} ms; ` +
      `release ${[50, 90, 99].map((p) => percentile(single.release, p).toFixed(1)).join('/')} ms; storm ${stormResult.allDrainPodsCreatedSeconds.toFixed(1)}s / ${stormResult.allClaimsReleasedSeconds.toFixed(1)}s; ` +
      `API server GET p99 ${percentile(idleProbe.latencyMs, 99).toFixed(1)} ms idle, ${percentile(stormProbe.latencyMs, 99).toFixed(1)} ms in the storm`);
    return result;
  } finally {
    await stopControlPlane(cp);
  }
}

const resultsFile = path.join(out, smoke ? 'smoke.json' : 'results.json');
const earlier: SizeResult[] = args.append && existsSync(resultsFile)
  ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as { results: SizeResult[] }).results.filter((r) => !sizes.includes(r.size))
  : [];
const results: SizeResult[] = [...earlier];
for (const size of sizes) results.push(await runSize(size));
results.sort((a, b) => a.size - b.size);
const run = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.type()} ${os.release()}` },
  versions: { kubernetes: 'v1.34.4', etcd: 'v3.6.16', kwok: 'v0.8.0' },
  settings: { samples, stormOrdinals, idleSeconds, smoke, controllerArgs },
  real: 'kube-apiserver, etcd, kube-controller-manager (garbage collector, PVC protection), kube-scheduler and kwok (running the drain pods) are real; the StatefulSet controller is off: the benchmark creates sets, claims and pods itself (stateful pods assigned to a scheduler that does not exist, so nothing runs them; claims of a class with no provisioner) and does the scale-down (replicas patch, then deletion of the pod) directly.',
  results,
};
mkdirSync(out, { recursive: true });
writeFileSync(resultsFile, JSON.stringify(run, null, 2));
if (!smoke) {
  await writeCharts(results, out);
  writeReport(run, path.join(root, 'bench', 'README.md'));
}
log(`results written to ${out}`);
