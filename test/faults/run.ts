// `npm run test:faults`: seeded batches on the local control plane with faults injected (controller SIGKILL,
// SIGSTOP, OOM kill and clock jumps, API server and etcd restarts, node loss, and through a fault-injecting
// proxy: 429 with Retry-After, 5xx, connection resets, latency, silent watches). Each batch runs several
// worlds (independent namespaces and sets) on one control plane; each world is a run, checked on its own
// against the invariants and recorded in the ledger. Replay a batch with its --seed, --worlds and --steps.
import { parseArgs } from 'node:util';
import { runBatch } from './batch.ts';
import { FAULTS, type FaultKind } from './faults.ts';
import { appendToLedger, failed, type LedgerEntry } from './ledger.ts';

const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '1' },
    worlds: { type: 'string', default: '8' },
    steps: { type: 'string', default: '12' },
    seed: { type: 'string' },
    /** Only these kinds of fault (comma-separated), to replay or study one. */
    faults: { type: 'string' },
    ledger: { type: 'boolean', default: false },
  },
});

const batches = Number(args.batches);
const worlds = Number(args.worlds);
const steps = Number(args.steps);
const kinds = args.faults?.split(',') as FaultKind[] | undefined;
const unknown = kinds?.filter((k) => !FAULTS.includes(k));
if (unknown?.length) throw new Error(`unknown fault kinds ${unknown.join(', ')}; known: ${FAULTS.join(', ')}`);
const firstSeed = args.seed ? Number(args.seed) : Math.floor(Math.random() * 2 ** 31);
const all: LedgerEntry[] = [];
for (let b = 0; b < batches; b++) {
  const seed = firstSeed + b;
  const started = Date.now();
  console.log(`batch ${b + 1}/${batches}: seed ${seed}, ${worlds} worlds (replay: npm run test:faults -- --seed ${seed} ` +
    `--worlds ${worlds} --steps ${steps})`);
  // A batch whose control plane would not start ran nothing: reported, not recorded.
  const entries = await runBatch({ seed, worlds, steps, faults: kinds, log: (line) => console.log(line) })
    .catch((err: unknown) => console.log(`  batch not run: ${String(err)}`));
  if (!entries) continue;
  if (args.ledger) appendToLedger(entries);
  const first = entries[0]!;
  console.log(`  faults ${JSON.stringify(first.faults)}; injected by the ` +
    `proxy ${JSON.stringify(first.proxyFaults)}; ${Math.round((Date.now() - started) / 1000)}s`);
  for (const e of entries) {
    console.log(`  world ${e.world} (seed ${e.seed}): drain pods deleted ${e.drainsCompleted}, claims released ${e.claimsReleased}, ` +
      `recovered ${e.recoverySeconds ?? '-'}s after the last fault; ` +
      `violations ${e.violations.length}${e.error ? `; ERROR ${e.error}` : ''}`);
    for (const v of e.violations) console.log(`    VIOLATION: ${v}`);
    for (const o of e.overtaken ?? []) console.log(`    overtaken by a scale-up: ${o}`);
  }
  all.push(...entries);
}
const bad = all.filter(failed);
console.log(`\nfault suite: ${all.length} runs in ${batches} batches, violations ${all.reduce((s, e) => s + e.violations.length, 0)}, ` +
  `claims released ${all.reduce((s, e) => s + e.claimsReleased, 0)}, longest ` +
  `recovery ${Math.max(0, ...all.map((e) => e.recoverySeconds ?? 0)).toFixed(1)}s`);
console.log(`${all.length - bad.length} passed, ${bad.length} failed`);
process.exit(bad.length === 0 ? 0 : 1);
