import { readFileSync } from 'node:fs';
const all = ["p-queue","commander","yaml","ajv","winston","prom-client","node:https","./dist/src/kube/api.js","./dist/src/planner/plan.js","./dist/src/controller/controller.js","./dist/src/cli/run.js"];
const n = Number(process.argv[2]);
const mods = n >= 0 ? all.slice(0, n) : all.filter((_, i) => i === -n - 1);
for (const m of mods) await import(m.startsWith(".")? process.cwd()+"/"+m.slice(2): m);
await new Promise((r) => setTimeout(r, 300)); globalThis.gc?.();
let cur = '', bin = 0, anon = 0;
for (const l of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
  const m = l.match(/^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/);
  if (m) { cur = m[1] || '[anon]'; continue; }
  const r = l.match(/^Rss:\s+(\d+) kB/); if (r) { if (cur.endsWith('/bin/node')) bin += Number(r[1]); else if (cur === '[anon]' || cur === '[heap]') anon += Number(r[1]); }
}
console.log(n, mods.at(-1) ?? 'none', 'binary', (bin/1024).toFixed(1), 'anon', (anon/1024).toFixed(1));
