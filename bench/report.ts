// bench/README.md: the summary table of the latest full run, generated from bench/results/results.json.
import { writeFileSync } from 'node:fs';
import { percentile } from './prometheus.ts';
import type { HeapProfile } from './heap-profile.ts';
import type { BareSync } from './scenarios/bare-sync.ts';
import type { ControllerMemory } from './scenarios/startup.ts';
import type { StormResult } from './scenarios/storm.ts';

export interface SizeResult {
  size: number;
  /** The commit whose controller was measured (its short hash, `-dirty` with uncommitted changes). */
  controller: string;
  namespaces: number;
  populateSeconds: number;
  /** Writes and seconds until the controller had nothing left to do: first start in the cluster, and a restart. */
  startup: { first: { seconds: number; requests: Record<string, number> }; restart: { seconds: number; requests: Record<string, number> } };
  reactionMs: number[];
  releaseMs: number[];
  requestsPerDrain: Record<string, number>;
  storm: StormResult & {
    /** The controller's API requests during the storm (leases excluded). */
    requests: Record<string, number>;
    /** A GET of one namespace every 100 ms, for 5 s before the storm and throughout it. */
    apiServerProbeMs: { idle: number[]; storm: number[] };
    /** CPU seconds per process (control plane components, controller, the benchmark itself) over the storm. */
    cpuSeconds: Record<string, number>;
    wallSeconds: number;
  };
  idle: { seconds: number; cpuPercent: number; requests: Record<string, number> };
  /**
   * `heap`: the trimmed controller's live heap after a full GC, by cache (bench/heap-profile.ts). `rssSamplesMB`: RSS of
   * each of the sync starts after the same idle time, `trimmed` then being the median one (absent in earlier runs, where
   * `trimmed` is one start's).
   */
  memory: { trimmed: ControllerMemory; fullObjects: ControllerMemory; heap?: HeapProfile; rssSamplesMB?: number[] };
  /** The same storm made by the bare writer, and the same streams read by the bare consumer: the physical limit. */
  /**
   * `storm.cpuSeconds`: per process while the bare writer's storm ran ("benchmark"
   * is where the bare writer runs); absent in runs before it was recorded.
   */
  bare: { storm: StormResult & { requests: Record<string, number>; wallSeconds?: number; cpuSeconds?: Record<string, number> };
    sync: BareSync; syncSamplesMs: number[] };
  /** During the single scale-downs: CPU seconds per process, and the controller's garbage collections by kind. */
  samples?: { wallSeconds: number; cpuSeconds: Record<string, number>; controllerGc: Record<string, { count: number; seconds: number }> };
  /** The controller's initial sync over five starts (ms), in turns with the bare consumer's; compared by their medians. */
  syncSamplesMs: number[];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The headline figures: the controller's times as multiples of the bare writer's and consumer's. */
export function ratios(r: SizeResult): { created: number; released: number; sync: number } {
  return {
    created: r.storm.allDrainPodsCreatedSeconds / r.bare.storm.allDrainPodsCreatedSeconds,
    released: r.storm.allClaimsReleasedSeconds / r.bare.storm.allClaimsReleasedSeconds,
    sync: median(r.syncSamplesMs) / median(r.bare.syncSamplesMs),
  };
}

export interface Run {
  date: string;
  machine: Record<string, unknown>;
  versions: Record<string, string>;
  settings: Record<string, unknown>;
  real: string;
  results: SizeResult[];
}

/** Which commit's controller each size measured (sizes added with --append may come from an earlier one). */
function measuredControllers(run: Run): string {
  const bySizes = new Map<string, number[]>();
  for (const r of run.results) bySizes.set(r.controller, [...(bySizes.get(r.controller) ?? []), r.size]);
  return `Controller measured: ${[...bySizes].map(([commit, sizes]) =>
    `commit ${commit} (${sizes.map((s) => s.toLocaleString('en')).join(', ')} sets)`).join('; ')}.`;
}

const p = (values: number[]) => [50, 90, 99].map((q) => percentile(values, q).toFixed(1)).join(' / ');
const counts = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';

const cpuNames = (run: Run) => [...new Set(run.results.flatMap((r) => Object.keys(r.storm.cpuSeconds ?? {})))];

/** Requests that draw on the QPS budget (events have their own, and are sent in the background). */
const budgeted = (requests: Record<string, number>) => Object.fromEntries(Object.entries(requests).filter(([k]) => !k.endsWith(' events')));
const budget = (requests: Record<string, number>) => Object.values(budgeted(requests)).reduce((sum, v) => sum + v, 0);
const stormReaction = (s: StormResult) => [s.reactionMs[0], s.reactionMs[2], s.reactionMs[3]].map((v) => v.toFixed(0)).join(' / ');
const x = (n: number) => `${n.toFixed(2)}x`;

/** What one more object costs, from the smallest size to the largest (least squares over every size). */
function perObject(run: Run): string {
  const points = run.results.map((r) => ({ objects: r.bare.sync.objects, sync: r.memory.trimmed.syncMs, anon: r.memory.trimmed.anonMB,
    p99: percentile(r.reactionMs, 99) }));
  if (points.length < 2) return '';
  const slope = (y: (p: (typeof points)[number]) => number) => {
    const mx = points.reduce((a, p) => a + p.objects, 0) / points.length;
    const my = points.reduce((a, p) => a + y(p), 0) / points.length;
    return points.reduce((a, p) => a + (p.objects - mx) * (y(p) - my), 0) / points.reduce((a, p) => a + (p.objects - mx) ** 2, 0);
  };
  return `Growth per object watched (least-squares slope over the ${points.length} sizes): initial ` +
    `sync ${(slope((p) => p.sync) * 1000).toFixed(0)} ms per 1,000 objects, ` +
    `anonymous memory ${(slope((p) => p.anon) * 1024).toFixed(2)} KiB per object, reaction ` +
    `p99 ${(slope((p) => p.p99) * 1000).toFixed(2)} ms per 1,000 objects.\n`;
}

function heapTable(run: Run): string {
  const roots = [...new Set(run.results.flatMap((r) => Object.keys(r.memory.heap?.shares ?? {})))];
  return [`| sets | live heap | ${roots.join(' | ')} |`, `|---|---|${roots.map(() => '---|').join('')}`,
    ...run.results.map((r) => `| ${r.size.toLocaleString('en')} | ${r.memory.heap?.liveMB.toFixed(1) ?? 'not read'} ` +
      `| ${roots.map((k) => r.memory.heap?.shares[k]?.toFixed(1) ?? '').join(' | ')} |`),
    '', 'The rest, by V8\'s kind of heap object (MiB; "hidden" and "object shape" are V8\'s internals: hidden classes, ' +
      'feedback, descriptors):', '',
    ...run.results.filter((r) => r.memory.heap?.restByType)
      .map((r) => `- ${r.size.toLocaleString('en')} sets: ${Object.entries(r.memory.heap!.restByType)
      .sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`)].join('\n');
}

export function writeReport(run: Run, file: string): void {
  const limits = run.results.map((r) => {
    const q = ratios(r);
    return `| ${r.size.toLocaleString('en')} | ${r.bare.sync.objects.toLocaleString('en')} | **${x(q.created)}** ` +
      `(${r.storm.allDrainPodsCreatedSeconds.toFixed(1)} / ${r.bare.storm.allDrainPodsCreatedSeconds.toFixed(1)} s) | ` +
      `**${x(q.released)}** (${r.storm.allClaimsReleasedSeconds.toFixed(1)} / ${r.bare.storm.allClaimsReleasedSeconds.toFixed(1)} s) | ` +
      `**${x(q.sync)}** (${median(r.syncSamplesMs).toFixed(0)} / ${median(r.bare.syncSamplesMs).toFixed(0)} ms) |`;
  });
  const memory = run.results.map((r) => {
    const m = r.memory.trimmed;
    const samples = r.memory.rssSamplesMB;
    const range = samples ? ` (${Math.min(...samples).toFixed(0)}-${Math.max(...samples).toFixed(0)})` : '';
    return `| ${r.size.toLocaleString('en')} | ${m.rssMB.toFixed(0)}${range} | ${m.anonMB.toFixed(0)} ` +
      `| ${m.fileMB.toFixed(0)} | ${m.heapMB.toFixed(0)} | ${r.bare.sync.rssMB.toFixed(0)} / ${r.bare.sync.anonMB.toFixed(0)} ` +
      `| ${r.memory.fullObjects.rssMB.toFixed(0)} |`;
  });
  const rows = run.results.map((r) => `| ${r.size.toLocaleString('en')} | ${p(r.reactionMs)} | ${p(r.releaseMs)} ` +
    `| ${percentile(r.storm.apiServerProbeMs.idle, 99).toFixed(0)} / ${percentile(r.storm.apiServerProbeMs.storm, 99).toFixed(0)} ` +
    `| ${r.idle.cpuPercent.toFixed(2)} |`);
  const api = run.results.map((r) => `| ${r.size.toLocaleString('en')} | ${counts(r.requestsPerDrain)} | ${counts(r.idle.requests)} ` +
    `(${r.idle.seconds}s) |`);
  writeFileSync(file, `# Benchmark

\`npm run bench\` (sizes with \`-- --sizes 100,1000\`, \`--append\` to add sizes to the last run; \`-- --smoke\` is
the tiny run CI does, which checks the harness, not the numbers). Each size starts a fresh local control
plane, fills it, runs the controller as a separate process with its default flags and the image's Node.js
flags, and measures. Raw samples, machine and versions: [results/results.json](results/results.json).
Latest run: ${run.date}, on ${String(run.machine.cpus)} cores, ${String(run.machine.memoryGB)} GiB, Node.js ${String(run.machine.node)};
Kubernetes ${run.versions.kubernetes}, etcd ${run.versions.etcd}, kwok ${run.versions.kwok}, all on the same machine.
${measuredControllers(run)}

What is real: ${run.real}

Each size has N annotated StatefulSets and N unannotated ones (3 claims and 3 pods each) in 10 to 100
namespaces, plus twice ${run.results[0]?.storm.ordinals ?? 0} ordinals' worth of Parallel "storm" sets (5 replicas each):
one storm for the controller, one for the bare writer.

## How close to the physical limit

Absolute times on 2 shared cores say more about the machine than about the controller, so each is set
against a program that does only what cannot be avoided, in the same run, on the same populated control
plane:

- **bare writer** ([scenarios/bare-writer.ts](scenarios/bare-writer.ts)): makes the storm's writes, the
  release protocol's seven per ordinal (drain pod, its record on the claim, the success record, drain pod
  delete, placeholder, claim delete, placeholder delete; the same four events) through the controller's own
  API client with the same QPS, burst, concurrency and event rate, knowing every orphaned ordinal up front and
  starting on a set the moment its pods are gone: no watch of its own, no cache, no planning, no reads. It
  waits for each drain pod's Succeeded (the drain itself), and for the drain pod and the claim to be gone
  before the placeholder's create and delete, through the benchmark's observer. (Runs before 72864c7 had it
  make the earlier protocol's four writes: drain pod, record, claim delete, drain pod delete.)
- **bare consumer** ([bare-consumer.ts](bare-consumer.ts)): a separate process with the image's flags
  that opens the controller's four watch streams (same selectors, metadata-only where the controller
  uses it, streamed initial state) over plain \`node:https\` and only parses the events.

Ratio = controller / bare, seconds from the last orphaning deletion (storm) or from the first request until
every stream's initial state is in (sync: the median of five starts of each, taken in turns; sizes measured
at commit c04021f or earlier took three of each, one after the other); targets: storm within 1.1x,
sync within 1.3x.

| sets | objects watched | storm: every drain pod created | storm: every claim released | initial sync |
|---|---|---|---|---|
${limits.join('\n')}

Where the storm's difference comes from: per ordinal, from its pod's deletion to its drain pod's creation
(ms, p50 / p99 / max), and the API requests each made in the storm that draw on the QPS budget (leases
and events aside: events have a budget of their own). Both have the same budget, so every request the
controller makes beyond the bare writer's delays the rest.

| sets | reaction in the storm: controller | bare writer | requests: controller | bare writer | controller / bare |
|---|---|---|---|---|---|
${run.results.map((r) =>
  `| ${r.size.toLocaleString('en')} | ${stormReaction(r.storm)} | ${stormReaction(r.bare.storm)} | ${counts(budgeted(r.storm.requests))} ` +
  `| ${counts(budgeted(r.bare.storm.requests))} | ${x(budget(r.storm.requests) / budget(r.bare.storm.requests))} |`).join('\n')}

What the controller sends beyond the bare writer's writes depends on the commit measured.
Up to 09f97a2: one quorum read of the set before its claims are released (so that a scale-up the cache has
not seen yet keeps its claims). From 1c9de48 on (the release proof of safety round three, in
\`src/controller/release-guard.ts\`), per ordinal: the drained record on its claims, a placeholder pod that holds
the ordinal's name while its claims are deleted (create, then delete), and quorum reads of the set, the drain
pod and each claim before the writes of a release: seven writes and about six reads, under the same QPS budget.
From 69a71f2 on, a release's claim writes (the success record, the delete) are conditional on the claim as the
plan saw it, so the API server refuses them if it changed since, and the claim is not read before them: about
four and a half reads per ordinal (the set before its drain pods are created and again before each claim
delete, each claim before its drain pod is created and before the placeholder frees the name, the drain pod
before its success is recorded, the placeholder before the delete).
Where the bare writer made the earlier protocol's four writes (10,000 sets, measured at e804625), the ratio is
the cost of the new protocol plus the controller's own; where it makes the same seven (100 sets, 72864c7 and
later), the difference is mostly the controller's reads under the same QPS budget; what else it spends between
the steps (planning, waiting for its watches to show its own writes) was not measured apart. The storm's
sets carry the controller's finalizer already, as any set annotated before it scales down does: the
controller added it when it first accepted the template, at its first start (table below). Events have
their own budget and do not count against the QPS limit.

${perObject(run)}
## Memory

After the initial sync and ${String(run.settings.idleSeconds)} s idle, MiB. RSS is split (from \`/proc/<pid>/smaps_rollup\`) into
anonymous memory (V8 heap, malloc, stacks: the process's own) and file-backed pages (almost all of them
the \`node\` binary's code and read-only data, which every process running the same binary shares and the
kernel can drop and re-read). The bare consumer, right after parsing the same streams and keeping nothing,
is what Node.js, TLS and the parsing alone cost. The same configuration varies by several MiB from one start to
the next, so where a size shows a range, its row is the start with the median RSS of the five sync starts, and the
range is theirs.

| sets | RSS | anonymous | file-backed | V8 heap used | bare consumer RSS / anonymous | RSS caching whole objects ` +
`(\`--cache-full-objects\`) |
|---|---|---|---|---|---|---|
${memory.join('\n')}

![memory](results/memory.svg)

The live heap (after the full GC a heap snapshot makes) and what holds it, MiB: everything reachable from
each cache and not already counted for one before it, without the hidden classes, prototypes and code all
objects share ([heap-profile.ts](heap-profile.ts)):

${heapTable(run)}

Where a size shows nothing held by the caches (measured before 8593153), the profile could not find them: V8
names objects in the bundled build by the minified class identifiers (esbuild's \`keepNames\` does not change
that), and everything was counted as the rest. The profile now also knows each class by fields only it has.

Where an empty process's memory goes, module by module and page by page:
[results/memory-breakdown.md](results/memory-breakdown.md) (\`npm run bench:memory\`).

## Latency

- **reaction**: from the stateful pod's deletion being visible in the API (the delete call returned) to the
  drain pod's creation (seen on a watch), over ${String(run.settings.samples)} single scale-downs (3 -> 2);
- **release**: from the drain pod's Succeeded status (seen on a watch) to the claim's deletion;
- **API GET**: p99 latency of a GET of one namespace, every 100 ms, for 5 s before the storm and throughout
  it (what everyone else sees of the API server while the controller works through the storm);
- **idle CPU** over ${String(run.settings.idleSeconds)} s.

| sets | reaction p50 / p90 / p99 (ms) | release p50 / p90 / p99 (ms) | API GET p99 idle / storm (ms) | idle CPU % |
|---|---|---|---|---|
${rows.join('\n')}

While the single scale-downs ran: CPU seconds each process used (of wall time x ${String(run.machine.cpus)}), and the
controller's garbage collections (count, total seconds) by kind:

| sets | wall s | CPU seconds by process | controller GC |
|---|---|---|---|
${run.results.filter((r) => r.samples)
  .map((r) => `| ${r.size.toLocaleString('en')} | ${r.samples!.wallSeconds.toFixed(0)} | ${counts(r.samples!.cpuSeconds)} ` +
  `| ${Object.entries(r.samples!.controllerGc).map(([k, v]) => `${k} ${v.count} (${v.seconds.toFixed(2)} s)`).join(', ')} |`).join('\n')}

![latency](results/latency.svg)
![growth](results/growth.svg)

API requests by the controller, per drain (averaged over the single scale-downs) and while idle
(leader election only; no periodic LIST):

| sets | per drain | idle |
|---|---|---|
${api.join('\n')}

Start-up: on its first start in a cluster the controller checks every managed set's template (one
server-side dry-run create each) and adds its finalizer (one patch each), within the QPS limit; a restart
writes nothing (requests besides leases, and seconds until the queue was empty):

| sets | first start | restart |
|---|---|---|
${run.results.map((r) => `| ${r.size.toLocaleString('en')} | ${counts(r.startup.first.requests)} ` +
  `(${r.startup.first.seconds.toFixed(0)}s) | ${counts(r.startup.restart.requests)} (${r.startup.restart.seconds.toFixed(0)}s) |`)
  .join('\n')}

What bounds the storm: CPU seconds each process used during it (the machine has ${String(run.machine.cpus)} cores, so
wall time x ${String(run.machine.cpus)} is all there is):

| sets | storm | wall s | ${cpuNames(run).join(' | ')} |
|---|---|---|${cpuNames(run).map(() => '---|').join('')}
${run.results.flatMap((r) => [
    `| ${r.size.toLocaleString('en')} | controller | ${r.storm.wallSeconds.toFixed(1)} ` +
      `| ${cpuNames(run).map((n) => (r.storm.cpuSeconds[n] ?? 0).toFixed(1)).join(' | ')} |`,
    ...(r.bare.storm.cpuSeconds
      ? [`| ${r.size.toLocaleString('en')} | bare writer (in "benchmark") | ${r.bare.storm.wallSeconds!.toFixed(1)} ` +
        `| ${cpuNames(run).map((n) => r.bare.storm.cpuSeconds![n]?.toFixed(1) ?? '-').join(' | ')} |`]
      : []),
  ]).join('\n')}
`);
}
