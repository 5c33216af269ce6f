// Latency and memory curves as SVG, drawn with Vega-Lite (rendered headless by Vega, no browser needed).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { percentile } from './prometheus.ts';
import type { SizeResult } from './report.ts';

async function render(spec: vegaLite.TopLevelSpec, file: string): Promise<void> {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  writeFileSync(file, await view.toSVG());
}

export async function writeCharts(results: SizeResult[], dir: string): Promise<void> {
  const latency = results.flatMap((r) => ([['reaction', r.reactionMs], ['release', r.releaseMs]] as const).flatMap(([what, values]) =>
    [50, 90, 99].map((p) => ({ sets: r.size, series: `${what} p${p}`, ms: percentile(values, p) }))));
  await render({
    title: 'Drain controller latency vs. number of StatefulSets',
    width: 480, height: 300,
    data: { values: latency },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'sets', type: 'quantitative', scale: { type: 'log' }, title: 'annotated StatefulSets (plus as many unannotated)' },
      y: { field: 'ms', type: 'quantitative', title: 'milliseconds' },
      color: { field: 'series', type: 'nominal', title: null },
    },
  }, path.join(dir, 'latency.svg'));
  const memory = results.flatMap((r) => [
    { sets: r.size, series: 'RSS, trimmed cache', mb: r.memory.trimmed.rssMB },
    { sets: r.size, series: 'RSS, whole objects', mb: r.memory.fullObjects.rssMB },
    { sets: r.size, series: 'heap used, trimmed cache', mb: r.memory.trimmed.heapMB },
  ]);
  await render({
    title: 'Controller memory after the initial sync',
    width: 480, height: 300,
    data: { values: memory },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'sets', type: 'quantitative', scale: { type: 'log' }, title: 'annotated StatefulSets (plus as many unannotated)' },
      y: { field: 'mb', type: 'quantitative', title: 'MiB' },
      color: { field: 'series', type: 'nominal', title: null },
    },
  }, path.join(dir, 'memory.svg'));
}
