import { readFileSync } from 'node:fs';
const what = process.argv[2];
const probes = {
  none: () => {},
  promDeep: async () => { const r = (await import('node:module')).createRequire(import.meta.url); for (const m of ['registry','counter','gauge','histogram','defaultMetrics']) r('prom-client/lib/'+m); },
  cluster: () => import('node:cluster'),
  https: () => import('node:https'),
  intlYaml: async () => { new Intl.DateTimeFormat('en').format(new Date()); await import('yaml'); },
  cjsBig: async () => { (await import('node:module')).createRequire(import.meta.url)('typescript'); },
  esmOnly: () => import('p-queue'),
  textdec: () => new TextDecoder('latin1').decode(new Uint8Array([65])),
  norm: () => 'é'.normalize('NFD'),
  lower: () => 'ÄB'.toLocaleLowerCase(),
  caseI: () => /ä/iu.test('Ä'),
  unicodeRegex: () => new RegExp('\\p{L}+', 'u').test('abc'),
  intl: () => new Intl.DateTimeFormat('en').format(new Date()),
  yaml: () => import('yaml'),
  yamlParse: async () => (await import('yaml')).parse('a: 1'),
  require: async () => (await import('node:module')).createRequire(import.meta.url)('yaml'),
  requireCommander: async () => (await import('node:module')).createRequire(import.meta.url)('commander'),
  ajv: () => import('ajv'),
  prom: () => import('prom-client'),
};
await probes[what]();
await new Promise((r) => setTimeout(r, 300)); globalThis.gc?.();
let cur = '', bin = 0, anon = 0;
for (const l of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
  const m = l.match(/^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/);
  if (m) { cur = m[1] || '[anon]'; continue; }
  const r = l.match(/^Rss:\s+(\d+) kB/); if (r) { if (cur.endsWith('/bin/node')) bin += Number(r[1]); else if (cur === '[anon]' || cur === '[heap]') anon += Number(r[1]); }
}
console.log(what, 'binary', (bin/1024).toFixed(1), 'anon', (anon/1024).toFixed(1));
