// `npm run faults:report`: the ledger summed up, as a table and two charts in test/faults/README.md (between
// its ledger markers), so that the published figures are always the ledger's.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { failed, LEDGER, readLedger, type LedgerEntry } from './ledger.ts';

const dir = path.dirname(LEDGER);
const README = path.join(dir, 'README.md');
const BEGIN = '<!-- ledger summary: written by npm run faults:report -->';
const END = '<!-- end of ledger summary -->';

async function barChart(title: string, values: Array<Record<string, unknown>>, x: string, xTitle: string, y: string, yTitle: string,
    file: string, binned = false): Promise<void> {
  const spec: vegaLite.TopLevelSpec = {
    title, width: 480, height: 240, data: { values },
    mark: 'bar',
    encoding: {
      x: binned ? { field: x, type: 'quantitative', bin: { step: 5 }, title: xTitle } : { field: x, type: 'nominal',
        title: xTitle, sort: '-y' },
      y: binned ? { aggregate: 'count', type: 'quantitative', title: yTitle } : { field: y, type: 'quantitative', title: yTitle },
    },
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  writeFileSync(file, await view.toSVG());
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Fault injections by kind, each batch counted once (its worlds shared them). */
function injections(entries: LedgerEntry[],
    pick: (e: LedgerEntry) => Record<string, number> | undefined = (e) => e.faults): Record<string, number> {
  const byBatch = new Map<string, LedgerEntry>();
  for (const e of entries) byBatch.set(`${e.date}/${e.batchSeed}`, e);
  const totals: Record<string, number> = {};
  for (const e of byBatch.values()) for (const [k, v] of Object.entries(pick(e) ?? {})) totals[k] = (totals[k] ?? 0) + v;
  return totals;
}

const everything = readLedger();
const entries = everything.filter((e) => e.note === undefined);
const excluded = everything.filter((e) => e.note !== undefined);
const batches = new Set(entries.map((e) => `${e.date}/${e.batchSeed}`)).size;
const completed = entries.filter((e) => e.error === undefined);
const violations = entries.reduce((s, e) => s + e.violations.length, 0);
const recovery = completed.flatMap((e) => (e.recoverySeconds === null ? [] : [e.recoverySeconds]));
const faults = injections(entries);
const withoutEffect = injections(entries, (e) => e.faultsWithoutEffect);
const exposed = (kind: string) => entries.filter((e) => (e.faults[kind] ?? 0) > 0).length;
const commits = [...new Set(entries.map((e) => e.commit))];

const rows = [
  `| runs (worlds) in the ledger | ${entries.length} in ${batches} batches, on ${commits.length} commits (${commits.join(', ')}) |`,
  `| runs completed and checked | ${completed.length} |`,
  `| runs not completed (see errors below) | ${entries.length - completed.length} |`,
  `| invariant violations | ${violations}, in ${entries.filter((e) => e.violations.length > 0).length} runs |`,
  `| runs that failed (a violation or not completed) | ${entries.filter(failed).length} |`,
  `| writes overtaken by a scale-up after the quorum read they were decided on (not violations; counted since 2026-12-03) ` +
    `| ${entries.reduce((s, e) => s + (e.overtaken?.length ?? 0), 0)} |`,
  `| drain pods completed and deleted | ${entries.reduce((s, e) => s + e.drainsCompleted, 0)} |`,
  `| claims released | ${entries.reduce((s, e) => s + e.claimsReleased, 0)} |`,
  `| recovery after the last fault (p50 / p90 / max) | ${percentile(recovery, 50)} s / ${percentile(recovery, 90)} s ` +
    `/ ${Math.max(...recovery)} s |`,
];
const faultRows = Object.entries(faults).sort((a, b) => b[1] - a[1])
  .map(([kind, n]) => `| ${kind} | ${n} | ${exposed(kind)} | ${withoutEffect[kind] ?? 0} |`);
const commitRows = commits.map((commit) => {
  const of = entries.filter((e) => e.commit === commit);
  return `| ${commit} | ${of[0]?.date.slice(0, 10)} | ${of.length} | ${of.reduce((s, e) => s + e.violations.length, 0)} ` +
    `| ${of.filter((e) => e.error !== undefined).length} |`;
});
// Failed runs grouped by batch and finding: a batch-wide failure is one line, not one per world.
const grouped = new Map<string, number[]>();
for (const e of entries.filter(failed)) {
  const key = `batch ${e.batchSeed} (${e.commit}): ${[...e.violations, ...(e.error ? [e.error] : [])].join('; ').replace(/\s+/g, ' ')}`;
  grouped.set(key, [...(grouped.get(key) ?? []), e.world]);
}
const dedupedProblems =
  [...grouped].map(([key, worlds]) => `- ${key.replace(':', `, world${worlds.length > 1 ? 's' : ''} ${worlds.join(', ')}:`)}`);

const section = [
  BEGIN,
  '',
  '| | |',
  '|---|---|',
  ...rows,
  '',
  '| commit | first run | runs | violations | not completed |',
  '|---|---|---|---|---|',
  ...commitRows,
  '',
  '| fault | injections that took effect (each batch counted once) | runs exposed | drawn without effect (not counted) |',
  '|---|---|---|---|',
  ...faultRows,
  '',
  '![fault injections by kind](fault-injections.svg)',
  '![recovery after the last fault](recovery.svg)',
  '',
  dedupedProblems.length > 0 ? 'Runs that failed:\n' : 'No run failed.',
  ...dedupedProblems,
  '',
  ...(excluded.length > 0 ? [
    `Not counted above: ${excluded.length} entries of batches ${[...new Set(excluded.map((e) => e.batchSeed))].join(', ')}, ` +
    `${[...new Set(excluded.map((e) => e.note))].join('; ')}.`, '',
  ] : []),
  END,
].join('\n');

await barChart('Fault injections by kind', Object.entries(faults).map(([kind, n]) => ({ kind, n })), 'kind', 'fault', 'n', 'injections',
  path.join(dir, 'fault-injections.svg'));
await barChart('Recovery: last fault to every orphan drained', recovery.map((s) => ({ s })), 's', 'seconds', 'runs', 'runs',
  path.join(dir, 'recovery.svg'), true);
const readme = readFileSync(README, 'utf8');
const start = readme.indexOf(BEGIN);
const end = readme.indexOf(END);
if (start === -1 || end === -1) throw new Error(`${README} has no ledger markers`);
writeFileSync(README, readme.slice(0, start) + section + readme.slice(end + END.length));
console.log(section);
