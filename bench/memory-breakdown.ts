// `npm run bench:memory`: where an empty controller process's memory goes, module by module. Each step is
// a fresh Node.js process (with the image's flags and malloc settings) that loads the controller's dependencies in start-up
// order up to that module and reports RSS and V8 heap after a full GC; the difference to the step before is
// that module's share. Also runs the whole list under V8 flags that trade speed for memory. The tables go to
// bench/results/memory-breakdown.md.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMAGE_ENV, NODE_FLAGS } from '../local-cluster/controller-process.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (file: string) => path.join(root, 'dist', 'src', file);
/** What src/cli/run.ts loads, in the order it loads it: dependencies first, then the controller's own code. */
const steps: Array<[string, string]> = [
  ['p-queue (and the ES module loader)', 'p-queue'], ['commander', 'commander'], ['yaml', 'yaml'], ['ajv', 'ajv'], ['winston', 'winston'],
  ['prom-client', 'prom-client'], ['node:https (TLS, CA store)', 'node:https'],
  ['src/kube', dist('kube/api.js')], ['src/planner', dist('planner/plan.js')], ['src/controller', dist('controller/controller.js')],
  ['src/metrics and src/cli', dist('cli/run.js')],
];

interface Usage { rss: number; heapUsed: number; heapTotal: number; external: number; anon: number }

function measure(modules: string[], flags: string[]): Usage {
  const script = `${modules.map((m) => `await import(${JSON.stringify(m)});`).join('')}
if (${modules.includes('node:https')}) new (await import('node:https')).Agent({ keepAlive: true });
await new Promise((r) => setTimeout(r, 300)); globalThis.gc(); const u = process.memoryUsage();
const anon = (await import(${JSON.stringify(path.join(root, 'dist', 'bench', 'memory-split.js'))}))` +
`.memorySplit(process.pid).anonMB * 2 ** 20;
console.log(JSON.stringify({ rss: u.rss, heapUsed: u.heapUsed, heapTotal: u.heapTotal, external: u.external, anon }));`;
  const out = execFileSync(process.execPath, [...flags, '--expose-gc', '--input-type=module', '-e', script],
    { cwd: root, encoding: 'utf8', env: { ...process.env, ...IMAGE_ENV } });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Usage;
}

const MiB = (n: number) => (n / 2 ** 20).toFixed(1);
const lines: string[] = [];
const say = (line: string) => {
  lines.push(line);
  console.log(line);
};
say(`# Where an empty controller process's memory goes\n\n\`npm run bench:memory\`, ${new Date().toISOString().slice(0, 10)}: ` +
  `Node.js ${process.version}, ` +
  `flags \`${NODE_FLAGS.join(' ')}\` and environment \`${Object.entries(IMAGE_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}\` ` +
  `(the image's); MiB after a full GC, each row a fresh process that loads everything above it.\n`);
say('RSS is split into anonymous memory (heaps, the process\'s own) and file-backed pages (almost all of them the `node`');
say('binary\'s code and data, touched as more of Node.js and V8 is used: shared by every process running the same');
say('binary, and the first pages the kernel drops under pressure).\n');
say('| loaded | RSS | + RSS | anonymous | + anonymous | file-backed | + file-backed | V8 heap used | + heap |');
say('|---|---|---|---|---|---|---|---|---|');
let previous = measure([], NODE_FLAGS);
say(`| Node.js alone | ${MiB(previous.rss)} | | ${MiB(previous.anon)} | | ${MiB(previous.rss - previous.anon)} | ` +
  `| ${MiB(previous.heapUsed)} | |`);
for (let i = 0; i < steps.length; i++) {
  const now = measure(steps.slice(0, i + 1).map(([, m]) => m), NODE_FLAGS);
  say(`| + ${steps[i]![0]} | ${MiB(now.rss)} | ${MiB(now.rss - previous.rss)} | ${MiB(now.anon)} | ${MiB(now.anon - previous.anon)} | ` +
    `${MiB(now.rss - now.anon)} | ${MiB(now.rss - now.anon - (previous.rss - previous.anon))} | ${MiB(now.heapUsed)} ` +
    `| ${MiB(now.heapUsed - previous.heapUsed)} |`);
  previous = now;
}
say('\nEverything loaded, under V8 flags that trade speed for memory:\n');
say('| flags | RSS | anonymous | file-backed | V8 heap used |');
say('|---|---|---|---|---|');
for (const extra of [[], ['--lite-mode'], ['--jitless'], ['--no-opt', '--no-sparkplug']]) {
  const u = measure(steps.map(([, m]) => m), [...NODE_FLAGS, ...extra]);
  say(`| ${[...NODE_FLAGS, ...extra].join(' ')} | ${MiB(u.rss)} | ${MiB(u.anon)} | ${MiB(u.rss - u.anon)} | ${MiB(u.heapUsed)} |`);
}
writeFileSync(path.join(root, 'bench', 'results', 'memory-breakdown.md'), `${lines.join('\n')}\n`);
