// Latency and memory curves as SVG, drawn with Vega-Lite (rendered headless by Vega, no browser needed).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { percentile } from './prometheus.ts';
import type { SizeResult } from './report.ts';

/** A line chart of `y` against the number of sets (log scale), one line per series, as SVG. */
async function lineChart(title: string, values: Array<Record<string, unknown>>, y: string, yTitle: string, file: string): Promise<void> {
  const spec: vegaLite.TopLevelSpec = {
    title, width: 480, height: 300,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'sets', type: 'quantitative', scale: { type: 'log' }, title: 'annotated StatefulSets (plus as many unannotated)' },
      y: { field: y, type: 'quantitative', title: yTitle },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  writeFileSync(file, await view.toSVG());
}

/** Sync time, memory and reaction against the number of objects watched, side by side. */
async function growthChart(results: SizeResult[], file: string): Promise<void> {
  const panel = (field: string, title: string) => ({
    title, width: 220, height: 200, mark: { type: 'line' as const, point: true },
    encoding: {
      x: { field: 'objects', type: 'quantitative' as const, title: 'objects watched' },
      y: { field, type: 'quantitative' as const, title: null },
      color: { field: 'series', type: 'nominal' as const, title: null },
    },
  });
  const values = results.flatMap((r) => [
    { objects: r.bare.sync.objects, series: 'controller', syncSeconds: r.memory.trimmed.syncMs / 1000, anonMB: r.memory.trimmed.anonMB,
      reactionP99: percentile(r.reactionMs, 99) },
    { objects: r.bare.sync.objects, series: 'bare consumer', syncSeconds: r.bare.sync.ms / 1000, anonMB: r.bare.sync.anonMB },
  ]);
  const spec: vegaLite.TopLevelSpec = {
    title: 'Cost as the number of watched objects grows', data: { values },
    hconcat: [panel('syncSeconds', 'initial sync (s)'), panel('anonMB', 'anonymous memory (MiB)'),
      panel('reactionP99', 'reaction p99 (ms)')],
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  writeFileSync(file, await view.toSVG());
}

export async function writeCharts(results: SizeResult[], dir: string): Promise<void> {
  const latency = results.flatMap((r) => ([['reaction', r.reactionMs], ['release', r.releaseMs]] as const).flatMap(([what, values]) =>
    [50, 90, 99].map((p) => ({ sets: r.size, series: `${what} p${p}`, ms: percentile(values, p) }))));
  await lineChart('Drain controller latency vs. number of StatefulSets', latency, 'ms', 'milliseconds', path.join(dir, 'latency.svg'));
  const memory = results.flatMap((r) => [
    { sets: r.size, series: 'RSS, trimmed cache', mb: r.memory.trimmed.rssMB },
    { sets: r.size, series: 'RSS, whole objects', mb: r.memory.fullObjects.rssMB },
    { sets: r.size, series: 'anonymous, trimmed cache', mb: r.memory.trimmed.anonMB },
    { sets: r.size, series: 'heap used, trimmed cache', mb: r.memory.trimmed.heapMB },
    { sets: r.size, series: 'RSS, bare consumer', mb: r.bare.sync.rssMB },
  ]);
  await lineChart('Controller memory after the initial sync', memory, 'mb', 'MiB', path.join(dir, 'memory.svg'));
  await growthChart(results, path.join(dir, 'growth.svg'));
}
