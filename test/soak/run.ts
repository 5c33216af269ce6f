// `npm run soak -- --minutes N`: a few hundred StatefulSets scaled up and down at random for a long time, a
// tenth of them with drains that fail for a while (their template is switched between failing and working, so
// failed drains are retried and later succeed). The controller runs as the image runs it (compiled, with the
// image's Node.js flags). Every 15 s its metrics are sampled; at the end the invariants are checked on the
// audit log, and the figures (drains, violations, reconcile errors, RSS and heap slope, API requests per
// second) are written to test/soak/results/ with a chart.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { readAudit } from '../../local-cluster/audit.ts';
import { clusterClient, type ClusterClient } from '../../local-cluster/cluster-client.ts';
import { startControlPlane, stopControlPlane } from '../../local-cluster/control-plane.ts';
import { startController } from '../../local-cluster/controller-process.ts';
import { sleep, waitFor } from '../../local-cluster/processes.ts';
import { simulatedDrain, statefulSet, TEMPLATE_ANNOTATION } from '../../local-cluster/workloads.ts';
import { metricValue } from '../../bench/prometheus.ts';
import { PodHistory } from '../faults/history.ts';
import { checkInvariants } from '../faults/invariants.ts';
import { currentCommit } from '../faults/ledger.ts';
import { rng } from '../faults/random.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '60' },
    sets: { type: 'string', default: '300' },
    seed: { type: 'string', default: '20261202' },
    out: { type: 'string', default: path.join(root, 'test', 'soak', 'results') },
  },
});
const minutes = Number(args.minutes);
const setCount = Number(args.sets);
const random = rng(Number(args.seed));
const NS = 'soak';
const SAMPLE_MS = 15_000;
const log = (line: string) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}`);

interface Sample {
  minute: number;
  rssMiB: number;
  heapUsedMiB: number;
  drainsSucceeded: number;
  drainsFailed: number;
  reconcileErrors: number;
  apiRequests: number;
}

const flaky = (i: number) => i % 10 === 0;
const working = simulatedDrain({ after: '1s' });
const failing = simulatedDrain({ after: '1s', phase: 'Failed', restartPolicy: 'Never' });

async function populate(c: ClusterClient): Promise<void> {
  for (let i = 0; i < setCount; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, setCount - i) }, (_, k) => i + k).map((n) => c.apps.createNamespacedStatefulSet({
      namespace: NS,
      body: statefulSet({
        name: `s${n}`, replicas: 1 + Math.floor(random() * 4), policy: 'Parallel', template: flaky(n) ? failing : working,
        annotations: { 'statefulsets.kubernetes.io/drainer-max-attempts': '1000' },
      }),
    })));
  }
}

async function sample(c: { metrics(): Promise<string> }, started: number): Promise<Sample> {
  const text = await c.metrics();
  return {
    minute: (Date.now() - started) / 60_000,
    rssMiB: metricValue(text, 'process_resident_memory_bytes') / 2 ** 20,
    heapUsedMiB: metricValue(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    drainsSucceeded: metricValue(text, 'sdc_drains_succeeded_total'),
    drainsFailed: metricValue(text, 'sdc_drains_failed_total'),
    reconcileErrors: metricValue(text, 'sdc_reconcile_errors_total'),
    apiRequests: metricValue(text, 'sdc_api_requests_total'),
  };
}

/** Least-squares slope of `y` against minutes, in units per hour. */
function slopePerHour(samples: Sample[], y: (s: Sample) => number): number {
  const n = samples.length;
  const mx = samples.reduce((a, s) => a + s.minute, 0) / n;
  const my = samples.reduce((a, s) => a + y(s), 0) / n;
  const num = samples.reduce((a, s) => a + (s.minute - mx) * (y(s) - my), 0);
  const den = samples.reduce((a, s) => a + (s.minute - mx) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 60;
}

async function chart(samples: Sample[], file: string): Promise<void> {
  const values = samples.flatMap((s) => [{ minute: s.minute, series: 'RSS', mib: s.rssMiB },
    { minute: s.minute, series: 'heap used', mib: s.heapUsedMiB }]);
  const spec: vegaLite.TopLevelSpec = {
    title: `Controller memory during the soak (${setCount} StatefulSets)`, width: 480, height: 260, data: { values },
    mark: { type: 'line' },
    encoding: {
      x: { field: 'minute', type: 'quantitative', title: 'minutes' },
      y: { field: 'mib', type: 'quantitative', title: 'MiB' },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  writeFileSync(file, await view.toSVG());
}

const cp = await startControlPlane({ log });
let keep = false;
try {
  const c = clusterClient(cp.kubeconfig);
  await c.core.createNamespace({ body: { metadata: { name: NS } } });
  await waitFor('default ServiceAccount', async () => c.core.readNamespacedServiceAccount({ namespace: NS, name: 'default' }), 60_000);
  const history = new PodHistory(c.kubeconfig);
  await history.start();
  log(`creating ${setCount} StatefulSets (${setCount / 10} with drains that fail until their template is fixed)`);
  await populate(c);
  const controller = await startController(cp.kubeconfig,
    [`--namespaces=${NS}`, '--log-level=info', '--backoff-base=5s', '--backoff-max=60s'], { compiled: true });
  const started = Date.now();
  const samples: Sample[] = [await sample(controller, started)];
  let nextSample = started + SAMPLE_MS;
  let scales = 0;
  let templateSwitches = 0;
  const end = started + minutes * 60_000;
  while (Date.now() < end) {
    // About two scale changes a second across the sets, up and down.
    const n = Math.floor(random() * setCount);
    await c.kubectl(['-n', NS, 'scale', 'statefulset', `s${n}`, `--replicas=${Math.floor(random() * 5)}`])
      .catch((err: unknown) => log(`scale failed: ${String(err)}`));
    scales += 1;
    if (random() < 0.02) {
      // A flaky set's drains start failing, or are fixed.
      const f = Math.floor(random() * (setCount / 10)) * 10;
      await c.kubectl(['-n', NS, 'annotate', '--overwrite', 'statefulset', `s${f}`,
        `${TEMPLATE_ANNOTATION}=${JSON.stringify(random() < 0.5 ? failing : working)}`]);
      templateSwitches += 1;
    }
    if (Date.now() >= nextSample) {
      const s = await sample(controller, started);
      samples.push(s);
      nextSample += SAMPLE_MS;
      if (samples.length % 20 === 0) log(`${s.minute.toFixed(0)} min: RSS ${s.rssMiB.toFixed(1)} MiB, heap ${s.heapUsedMiB.toFixed(1)} ` +
        `MiB, drains ${s.drainsSucceeded}, failed ${s.drainsFailed}, errors ${s.reconcileErrors}`);
    }
    await sleep(500);
  }
  // Every set scaled to 0 and its templates fixed: every orphan must be drained.
  log('soak over: fixing every template, scaling every set to 0, waiting for the drains');
  for (let f = 0; f < setCount; f += 10)
    await c.kubectl(['-n', NS, 'annotate', '--overwrite', 'statefulset', `s${f}`, `${TEMPLATE_ANNOTATION}=${JSON.stringify(working)}`]);
  await c.kubectl(['-n', NS, 'scale', 'statefulset', '--all', '--replicas=0']);
  await waitFor('every claim released', async () =>
    ((await c.core.listNamespacedPersistentVolumeClaim({ namespace: NS })).items.length === 0 ? true : undefined), 15 * 60_000, 2000);
  const last = await sample(controller, started);
  await controller.stop();
  await history.stop();
  const violations = checkInvariants(readAudit(cp.auditLog, (e) => e.namespace === NS && !['get', 'list', 'watch'].includes(e.verb) &&
    e.resource !== 'events'), history.sightings, { namespace: NS, leaderGapMs: 0, claimTemplates: ['data'] });
  const steady = samples.filter((s) => s.minute >= Math.min(5, minutes / 4));
  const result = {
    date: new Date(started).toISOString(), commit: currentCommit(), minutes, sets: setCount, seed: Number(args.seed),
    scales, templateSwitches,
    drainsSucceeded: last.drainsSucceeded, drainsFailed: last.drainsFailed, reconcileErrors: last.reconcileErrors, violations,
    apiRequestsPerSecond: Math.round((last.apiRequests / ((Date.now() - started) / 1000)) * 10) / 10,
    rss: { firstMiB: samples[0]!.rssMiB, maxMiB: Math.max(...samples.map((s) => s.rssMiB)), lastMiB: samples.at(-1)!.rssMiB,
      slopeMiBPerHour: slopePerHour(steady, (s) => s.rssMiB) },
    heap: { maxMiB: Math.max(...samples.map((s) => s.heapUsedMiB)), slopeMiBPerHour: slopePerHour(steady, (s) => s.heapUsedMiB) },
    samples,
  };
  mkdirSync(args.out!, { recursive: true });
  writeFileSync(path.join(args.out!, 'soak.json'), `${JSON.stringify(result, null, 2)}\n`);
  await chart(samples, path.join(args.out!, 'memory.svg'));
  log(`drains succeeded ${result.drainsSucceeded}, failed attempts ${result.drainsFailed}, reconcile errors ${result.reconcileErrors}, ` +
    `violations ${violations.length}, ` +
    `${result.apiRequestsPerSecond} API requests/s; RSS ${result.rss.firstMiB.toFixed(1)} -> ${result.rss.lastMiB.toFixed(1)} MiB ` +
    `(max ${result.rss.maxMiB.toFixed(1)}), ` +
    `slope ${result.rss.slopeMiBPerHour.toFixed(2)} MiB/h; heap slope ${result.heap.slopeMiBPerHour.toFixed(2)} MiB/h`);
  for (const v of violations) log(`VIOLATION: ${v}`);
  keep = violations.length > 0;
  process.exitCode = violations.length === 0 ? 0 : 1;
} finally {
  await stopControlPlane(cp, { keepDir: keep });
}
