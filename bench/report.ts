// bench/README.md: the summary table of the latest full run, generated from bench/results/results.json.
import { writeFileSync } from 'node:fs';
import { percentile } from './prometheus.ts';

export interface SizeResult {
  size: number;
  namespaces: number;
  populateSeconds: number;
  /** Writes and seconds until the controller had nothing left to do: first start in the cluster, and a restart. */
  startup: { first: { seconds: number; requests: Record<string, number> }; restart: { seconds: number; requests: Record<string, number> } };
  reactionMs: number[];
  releaseMs: number[];
  requestsPerDrain: Record<string, number>;
  storm: {
    ordinals: number; orphaningSeconds: number; allDrainPodsCreatedSeconds: number; allClaimsReleasedSeconds: number;
    /** A GET of one namespace every 100 ms, for 5 s before the storm and throughout it. */
    apiServerProbeMs: { idle: number[]; storm: number[] };
    /** CPU seconds per process (control plane components, controller, the benchmark itself) over the storm. */
    cpuSeconds: Record<string, number>;
    wallSeconds: number;
  };
  idle: { seconds: number; cpuPercent: number; requests: Record<string, number> };
  memory: { trimmed: { rssMB: number; heapMB: number; syncMs: number }; fullObjects: { rssMB: number; heapMB: number; syncMs: number } };
}

interface Run {
  date: string;
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  settings: Record<string, unknown>;
  real: string;
  results: SizeResult[];
}

const p = (values: number[]) => [50, 90, 99].map((q) => percentile(values, q).toFixed(1)).join(' / ');
const counts = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';

const cpuNames = (run: Run) => [...new Set(run.results.flatMap((r) => Object.keys(r.storm.cpuSeconds ?? {})))];

export function writeReport(run: Run, file: string): void {
  const rows = run.results.map((r) => `| ${r.size.toLocaleString('en')} | ${p(r.reactionMs)} | ${p(r.releaseMs)} | ${r.storm.allDrainPodsCreatedSeconds.toFixed(1)} / ${r.storm.allClaimsReleasedSeconds.toFixed(1)} | ${percentile(r.storm.apiServerProbeMs.idle, 99).toFixed(0)} / ${percentile(r.storm.apiServerProbeMs.storm, 99).toFixed(0)} | ${r.memory.trimmed.rssMB.toFixed(0)} (${r.memory.fullObjects.rssMB.toFixed(0)}) | ${r.memory.trimmed.heapMB.toFixed(0)} | ${r.memory.trimmed.syncMs} | ${r.idle.cpuPercent.toFixed(2)} |`);
  const api = run.results.map((r) => `| ${r.size.toLocaleString('en')} | ${counts(r.requestsPerDrain)} | ${counts(r.idle.requests)} (${r.idle.seconds}s) |`);
  writeFileSync(file, `# Benchmark

\`npm run bench\` (sizes with \`-- --sizes 100,1000\`; \`-- --smoke\` is the tiny run CI does, which checks
the harness, not the numbers). Each size starts a fresh local control plane, fills it, runs the
controller as a separate process with its default flags, and measures. Raw samples, machine and
versions: [results/results.json](results/results.json). Latest run: ${run.date}, on
${String(run.machine.cpus)} cores, ${String(run.machine.memoryGB)} GiB, Node.js ${String(run.machine.node)};
Kubernetes ${run.versions.kubernetes}, etcd ${run.versions.etcd}, kwok ${run.versions.kwok}, all on the same machine.

What is real: ${run.real}

Each size has N annotated StatefulSets and N unannotated ones (3 claims and 3 pods each) in 10 to 100
namespaces, plus ${run.results[0]?.storm.ordinals ?? 0} ordinals' worth of Parallel "storm" sets (5 replicas each).

- **reaction**: from the stateful pod's deletion being visible in the API (the delete call returned) to the
  drain pod's creation (seen on a watch), over ${String(run.settings.samples)} single scale-downs (3 -> 2);
- **release**: from the drain pod's Succeeded status (seen on a watch) to the claim's deletion;
- **storm**: ${String(run.settings.stormOrdinals)} ordinals orphaned at once across Parallel sets: seconds from the
  last orphaning deletion until every drain pod exists / every claim is released; **API GET**: p99 latency
  of a GET of one namespace, every 100 ms, for 5 s before the storm and throughout it (what everyone
  else sees of the API server while the controller works through the storm);
- **memory**: RSS after the initial sync with the trimmed cache (in brackets: caching whole objects,
  \`--cache-full-objects\`), heap used; **sync**: time to the initial sync; **idle CPU** over ${String(run.settings.idleSeconds)}s.

| sets | reaction p50 / p90 / p99 (ms) | release p50 / p90 / p99 (ms) | storm: created / released (s) | API GET p99 idle / storm (ms) | RSS MiB | heap MiB | sync ms | idle CPU % |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

API requests by the controller, per drain (averaged over the single scale-downs) and while idle
(leader election only; no periodic LIST):

| sets | per drain | idle |
|---|---|---|
${api.join('\n')}

Start-up: on its first start in a cluster the controller adds its finalizer to every managed set (one
patch each, within the QPS limit); a restart writes nothing (requests besides leases, and seconds until the
queue was empty):

| sets | first start | restart |
|---|---|---|
${run.results.map((r) => `| ${r.size.toLocaleString('en')} | ${counts(r.startup.first.requests)} (${r.startup.first.seconds.toFixed(0)}s) | ${counts(r.startup.restart.requests)} (${r.startup.restart.seconds.toFixed(0)}s) |`).join('\n')}

What bounds the storm: CPU seconds each process used during it (the machine has ${String(run.machine.cpus)} cores, so
wall time x ${String(run.machine.cpus)} is all there is):

| sets | storm wall s | ${cpuNames(run).join(' | ')} |
|---|---|${cpuNames(run).map(() => '---|').join('')}
${run.results.map((r) => `| ${r.size.toLocaleString('en')} | ${r.storm.wallSeconds.toFixed(1)} | ${cpuNames(run).map((n) => (r.storm.cpuSeconds[n] ?? 0).toFixed(1)).join(' | ')} |`).join('\n')}

![latency](results/latency.svg)
![memory](results/memory.svg)

Where an empty process's memory goes, module by module, and what V8's memory-saving flags would take off:
[results/memory-breakdown.md](results/memory-breakdown.md) (\`npm run bench:memory\`).
`);
}
