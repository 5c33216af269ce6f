// `npm run bench`: reaction latency, storm throughput, memory and API cost of the controller as the
// number of StatefulSets grows, on the local control plane. Results go to bench/results/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clusterClient } from '../local-cluster/cluster-client.ts';
import { startControlPlane, stopControlPlane } from '../local-cluster/control-plane.ts';
import { startController } from '../local-cluster/controller-process.ts';
import { componentVersions } from '../local-cluster/binaries.ts';
import { populate } from './populate.ts';
import { Observer } from './observe.ts';
import { diffCounts, metricValue, percentile, requestCounts } from './prometheus.ts';
import { writeCharts } from './charts.ts';
import { ratios, writeReport, type Run, type SizeResult } from './report.ts';
import { log, sleep } from './common.ts';
import { cpuUse, probeApiServer } from './measure.ts';
import { scaleDownSamples } from './scenarios/single-scale-downs.ts';
import { memoryAfterSync, startupWork, type ControllerMemory } from './scenarios/startup.ts';
import { storm } from './scenarios/storm.ts';
import { BareWriter } from './scenarios/bare-writer.ts';
import { bareSync, type BareSync } from './scenarios/bare-sync.ts';
import { heapSnapshotFlags, profileHeap } from './scenarios/heap.ts';

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
    /** Only render bench/README.md and the charts again from the existing results.json. */
    'report-only': { type: 'boolean', default: false },
  },
});
const smoke = args.smoke!;
const sizes = smoke ? [10] : args.sizes!.split(',').map(Number);
const samples = smoke ? 5 : Number(args.samples);
const stormOrdinals = smoke ? 8 : Number(args.storm);
const idleSeconds = smoke ? 2 : Number(args.idle);
const out = args.out!;
const controllerArgs = args['controller-args']!.split(/\s+/).filter(Boolean);
const SYNC_SAMPLES = 5;
const controllerCommit = execFileSync('git', ['describe', '--always', '--dirty', '--exclude=*'], { cwd: root, encoding: 'utf8' }).trim();

async function runSize(size: number): Promise<SizeResult> {
  log(`size ${size}: starting a control plane without the StatefulSet controller`);
  // Without the StatefulSet controller: the benchmark plays its part.
  const cp = await startControlPlane({ controllers: '*,-statefulset', log });
  try {
    const c = clusterClient(cp.kubeconfig);
    const namespaces = Math.min(100, Math.max(10, Math.round(size / 100)));
    const t0 = Date.now();
    const sets = await populate(c, size, namespaces, 'bench', 3,
      (n) => log(`  populated ${n}/${size} annotated (+ as many unannotated) sets`));
    const stormSets = await populate(c, Math.ceil(stormOrdinals / 4), 10, 'storm', 5);
    const populateSeconds = (Date.now() - t0) / 1000;
    log(`size ${size}: populated in ${populateSeconds.toFixed(0)}s`);

    // The initial sync takes about 1.5 ms per set here; /readyz waits for it.
    const readyTimeoutMs = Math.max(30_000, size * 10);
    const full = await startController(cp.kubeconfig, ['--cache-full-objects', '--log-level=info', ...controllerArgs],
      { compiled: true, readyTimeoutMs });
    const firstStart = await startupWork(full);
    log(`size ${size}: first start: ${JSON.stringify(firstStart.requests)} in ${firstStart.seconds.toFixed(0)}s`);
    const fullMemory = await memoryAfterSync(full, idleSeconds);
    await full.stop();
    // Sync times vary from one start to the next (and with what the control plane is still busy with): five
    // of each, taken in turns so both see the same machine, compared by their medians.
    const bareRuns: BareSync[] = [];
    const syncSamplesMs: number[] = [];
    // RSS varies by several MiB from start to start: each start is measured after the idle time, and the median reported.
    const memorySamples: ControllerMemory[] = [];
    for (let i = 0; i < SYNC_SAMPLES; i++) {
      bareRuns.push(await bareSync(cp.kubeconfig));
      const once = await startController(cp.kubeconfig, ['--log-level=info', ...controllerArgs], { compiled: true, readyTimeoutMs });
      syncSamplesMs.push(Number(once.entries().find((e) => e.message === 'caches synced')?.ms));
      memorySamples.push(await memoryAfterSync(once, idleSeconds));
      await once.stop();
    }
    const memory = [...memorySamples].sort((a, b) => a.rssMB - b.rssMB)[Math.floor(SYNC_SAMPLES / 2)]!;
    const bareConsumer = [...bareRuns].sort((a, b) => a.ms - b.ms)[Math.floor(SYNC_SAMPLES / 2)]!;
    log(`size ${size}: initial sync ${syncSamplesMs.join(', ')} ms; the bare consumer parsed ${bareConsumer.objects} objects ` +
      `in ${bareRuns.map((r) => r.ms.toFixed(0)).join(', ')} ms`);
    const snapshots = heapSnapshotFlags();
    const controller = await startController(cp.kubeconfig, ['--log-level=info', ...controllerArgs],
      { compiled: true, readyTimeoutMs, nodeFlags: snapshots.flags });
    const restart = await startupWork(controller);
    const idleBefore = await controller.metrics();
    await sleep(idleSeconds * 1000);
    const idleAfter = await controller.metrics();
    const heap = await profileHeap(controller, snapshots.dir, log);
    if (heap) log(`size ${size}: live heap ${heap.liveMB.toFixed(1)} ` +
      `MiB: ${Object.entries(heap.shares).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
    log(`size ${size}: RSS ${memorySamples.map((m) => m.rssMB.toFixed(0)).join(', ')} MB in the five starts ` +
      `(${fullMemory.rssMB.toFixed(0)} MB caching whole objects)`);
    const idle = {
      seconds: idleSeconds,
      cpuPercent:
        ((metricValue(idleAfter, 'process_cpu_seconds_total') - metricValue(idleBefore, 'process_cpu_seconds_total')) / idleSeconds) * 100,
      requests: diffCounts(requestCounts(idleAfter), requestCounts(idleBefore)),
    };

    const obs = new Observer(cp.kubeconfig);
    await obs.start();
    log(`size ${size}: ${samples} single scale-downs`);
    const pids = { ...Object.fromEntries(Object.entries(cp.components).map(([name, comp]) => [name, comp.pid])),
      controller: controller.process.pid! };
    // What else the machine did meanwhile, and the controller's garbage
    // collection: where reaction time goes besides the controller's own work.
    const gcBefore = await controller.metrics();
    const samplesCpu = await cpuUse(pids, () => scaleDownSamples(c, obs, sets, controller, samples));
    const single = samplesCpu.result;
    const gcAfter = await controller.metrics();
    const gc = Object.fromEntries(['major', 'minor', 'incremental'].map((kind) => [kind, {
      count: metricValue(gcAfter, 'nodejs_gc_duration_seconds_count', { kind }) -
        metricValue(gcBefore, 'nodejs_gc_duration_seconds_count', { kind }),
      seconds: Number((metricValue(gcAfter, 'nodejs_gc_duration_seconds_sum', { kind }) -
        metricValue(gcBefore, 'nodejs_gc_duration_seconds_sum', { kind })).toFixed(3)),
    }]));
    log(`size ${size}: during the samples (${samplesCpu.wallSeconds.toFixed(0)} s): CPU ` +
      `seconds ${JSON.stringify(samplesCpu.cpuSeconds)}; controller GC ${JSON.stringify(gc)}`);
    const idleProbe = await probeApiServer(c, () => sleep(5000));
    log(`size ${size}: storm of ${stormOrdinals} orphaned ordinals`);
    const stormRequestsBefore = requestCounts(await controller.metrics());
    const benchCpuBefore = process.cpuUsage();
    const stormCpu = await cpuUse(pids, () => probeApiServer(c, () => storm(c, obs, stormSets, 'storm-')));
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const stormProbe = stormCpu.result;
    const stormRequests = Object.fromEntries(Object.entries(diffCounts(requestCounts(await controller.metrics()), stormRequestsBefore))
      .filter(([k]) => !k.endsWith('leases')));
    const stormResult = {
      ...stormProbe.result, requests: stormRequests, apiServerProbeMs: { idle: idleProbe.latencyMs, storm: stormProbe.latencyMs },
      cpuSeconds: { ...stormCpu.cpuSeconds, benchmark: Number(((benchCpu.user + benchCpu.system) / 1e6).toFixed(2)) },
      wallSeconds: stormCpu.wallSeconds,
    };
    log(`size ${size}: CPU seconds in the storm (${stormCpu.wallSeconds.toFixed(1)}s of wall time, 2 ` +
      `cores): ${JSON.stringify(stormResult.cpuSeconds)}`);
    await controller.stop();
    // The same storm again for the bare writer, made only now so that the controller's cluster was the same as before.
    const bareSets = await populate(c, Math.ceil(stormOrdinals / 4), 10, 'bare', 5);
    log(`size ${size}: the same storm, written by the bare writer`);
    const writer = new BareWriter(cp.kubeconfig, obs, controllerArgs);
    // The controller's process is gone: the bench's own CPU (where the bare writer runs) is counted instead.
    const barePids = Object.fromEntries(Object.entries(pids).filter(([name]) => name !== 'controller'));
    const bareCpuBefore = process.cpuUsage();
    const bareCpu = await cpuUse(barePids, () => storm(c, obs, bareSets, 'bare-', (s) => writer.orphaned(s)));
    const bareStorm = bareCpu.result;
    const bareBench = process.cpuUsage(bareCpuBefore);
    // Counted up to the same point as the controller's: every claim released.
    const bareRequests = { ...writer.requests };
    await writer.stop();
    await obs.stop();
    const bare = {
      storm: { ...bareStorm, requests: bareRequests, wallSeconds: bareCpu.wallSeconds,
        cpuSeconds: { ...bareCpu.cpuSeconds, benchmark: Number(((bareBench.user + bareBench.system) / 1e6).toFixed(2)) } },
      sync: bareConsumer, syncSamplesMs: bareRuns.map((r) => r.ms),
    };
    const result: SizeResult = {
      size, controller: controllerCommit, namespaces, populateSeconds, storm: stormResult, idle, startup: { first: firstStart, restart },
      memory: { trimmed: memory, fullObjects: fullMemory, heap, rssSamplesMB: memorySamples.map((m) => m.rssMB) },
      reactionMs: single.reaction, releaseMs: single.release, requestsPerDrain: single.perDrain, bare, syncSamplesMs,
      samples: { wallSeconds: samplesCpu.wallSeconds, cpuSeconds: samplesCpu.cpuSeconds, controllerGc: gc },
    };
    const q = ratios(result);
    log(`size ${size}: against the bare writer and consumer: drain pods created ${q.created.toFixed(2)}x, claims ` +
      `released ${q.released.toFixed(2)}x, sync ${q.sync.toFixed(2)}x; ` +
      `storm reaction p50/p99 ${stormResult.reactionMs[0].toFixed(0)}/${stormResult.reactionMs[2].toFixed(0)} ms ` +
      `(bare ${bareStorm.reactionMs[0].toFixed(0)}/${bareStorm.reactionMs[2].toFixed(0)}); ` +
      `requests ${JSON.stringify(stormRequests)} (bare ${JSON.stringify(bareRequests)})`);
    log(`size ${size}: reaction p50/p90/p99 ${[50, 90, 99].map((p) => percentile(single.reaction, p).toFixed(1)).join('/')} ms; ` +
      `release ${[50, 90, 99].map((p) => percentile(single.release, p).toFixed(1)).join('/')} ms; ` +
      `storm ${stormResult.allDrainPodsCreatedSeconds.toFixed(1)}s / ${stormResult.allClaimsReleasedSeconds.toFixed(1)}s; ` +
      `API server GET p99 ${percentile(idleProbe.latencyMs, 99).toFixed(1)} ms ` +
      `idle, ${percentile(stormProbe.latencyMs, 99).toFixed(1)} ms in the storm`);
    return result;
  } finally {
    await stopControlPlane(cp);
  }
}

const resultsFile = path.join(out, smoke ? 'smoke.json' : 'results.json');
if (args['report-only']) {
  const run = JSON.parse(readFileSync(resultsFile, 'utf8')) as Run;
  await writeCharts(run.results, out);
  writeReport(run, path.join(root, 'bench', 'README.md'));
  process.exit(0);
}
const earlier: SizeResult[] = args.append && existsSync(resultsFile)
  ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as { results: SizeResult[] }).results.filter((r) => !sizes.includes(r.size))
  : [];
const results: SizeResult[] = [...earlier];
for (const size of sizes) results.push(await runSize(size));
results.sort((a, b) => a.size - b.size);
const run = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGB: Math.round(os.totalmem() / 2 ** 30), node: process.version,
    platform: `${os.type()} ${os.release()}` },
  versions: componentVersions(),
  settings: { samples, stormOrdinals, idleSeconds, smoke, controllerArgs },
  real: 'kube-apiserver, etcd, kube-controller-manager (garbage collector, PVC protection), kube-scheduler and kwok (running the ' +
    'drain pods) are real; the StatefulSet controller is off: the benchmark creates sets, claims and pods itself (stateful pods assigned ' +
    'to a scheduler that does not exist, so nothing runs them; claims of a class with no provisioner) and does the scale-down (replicas ' +
    'patch, then deletion of the pod) directly.',
  results,
};
mkdirSync(out, { recursive: true });
writeFileSync(resultsFile, JSON.stringify(run, null, 2));
// The smoke run renders its report next to its results, so CI checks the report too.
await writeCharts(results, out);
writeReport(run, smoke ? path.join(out, 'README.md') : path.join(root, 'bench', 'README.md'));
log(`results written to ${out}`);
