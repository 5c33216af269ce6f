// `npm run test:mutation`: StrykerJS over the planner and the controller's decision code, in two groups, each
// with only the unit tests that exercise it (a group's mutant is judged in about a second instead of every
// unit file's ten), then one table of scores per file (reports/mutation/scores.md, pasted into
// docs/development.md with the date and commit). `-- --group planner` runs one group (the table keeps the
// other's last report).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Group { mutate: string[]; tests: string[] }
const GROUPS: Record<string, Group> = {
  planner: {
    mutate: ['src/planner/**/*.ts'],
    tests: ['plan', 'plan-messages', 'identity', 'ordinals', 'keys', 'drain-pod', 'placeholder', 'template', 'duration', 'failures',
      'settings', 'label-selector', 'well-formed', 'release-proof', 'planner-properties', 'planner-lifecycle', 'planner-totality',
      'controller', 'kept-volumes', 'restore'],
  },
  controller: {
    mutate: ['src/controller/executor.ts', 'src/controller/work-queue.ts', 'src/kube/leader-election.ts', 'src/kube/retry.ts',
      'src/kube/fenced-send.ts', 'src/cli/write-fence.ts', 'src/backoff.ts', 'src/controller/volume-keeper.ts', 'src/kube/server-clock.ts',
      'src/controller/name-index.ts', 'src/controller/cache-slots.ts', 'src/kube/name-set.ts', 'src/controller/trim.ts'],
    tests: ['executor', 'release-guard', 'controller', 'work-queue', 'leader-election', 'replica', 'retry', 'fenced-send', 'volume-keeper',
      'server-clock', 'cache-index', 'cluster-cache', 'name-set', 'trim', 'drain-pod'],
  },
};

interface Report { files: Record<string, { mutants: Array<{ status: string }> }> }

// `--mutate a.ts,b.ts` narrows a group to some of its files; that run's report is named after the group and
// the files, so that a group run in parts still gives one table.
// Runs are incremental (stryker.config.mjs); `--force` judges every mutant again.
const { values } = parseArgs({ options: { group: { type: 'string' }, mutate: { type: 'string' }, force: { type: 'boolean' } } });
const names = values.group ? [values.group] : Object.keys(GROUPS);
const dir = path.join(root, 'reports', 'mutation');
mkdirSync(dir, { recursive: true });
const stryker = path.join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js');
for (const name of names) {
  const group = GROUPS[name];
  if (!group) throw new Error(`no mutation group ${name}: ${Object.keys(GROUPS).join(', ')}`);
  const part = values.mutate?.split(',').map((file) => path.basename(file, '.ts')).join('+');
  const args = ['run', '--mutate', values.mutate ?? group.mutate.join(','), ...(values.force ? ['--force'] : [])];
  execFileSync(process.execPath, [stryker, ...args], {
    cwd: root, stdio: 'inherit',
    env: { ...process.env, SDC_MUTATION_TESTS: group.tests.join(','), SDC_MUTATION_REPORT: part ? `${name}-${part}` : name },
  });
}

// Stryker's score: killed (and timed out) over every valid mutant, the ones no test reaches included. Each
// file's latest report counts, so that groups and parts run one at a time still give one table.
const latest = new Map<string, Report['files'][string]>();
const ofAGroup = (f: string) => !f.endsWith('.incremental.json')
  && Object.keys(GROUPS).some((g) => f === `${g}.json` || (f.startsWith(`${g}-`) && f.endsWith('.json')));
const reports = readdirSync(dir).filter(ofAGroup).map((f) => path.join(dir, f))
  .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
for (const report of reports) {
  for (const [file, result] of Object.entries((JSON.parse(readFileSync(report, 'utf8')) as Report).files)) latest.set(file, result);
}
const rows = [...latest].map(([file, { mutants }]) => {
    const count = (...statuses: string[]) => mutants.filter((m) => statuses.includes(m.status)).length;
    const detected = count('Killed', 'Timeout');
    const valid = detected + count('Survived', 'NoCoverage');
    return { file, detected, survived: count('Survived'), noCoverage: count('NoCoverage'), valid,
      score: valid === 0 ? 100 : (100 * detected) / valid };
});
const total = rows.reduce((sum, r) => ({ detected: sum.detected + r.detected, valid: sum.valid + r.valid }), { detected: 0, valid: 0 });
const table = ['| file | killed | survived | not reached | score |', '|---|---|---|---|---|',
  ...rows.sort((a, b) => a.file.localeCompare(b.file))
    .map((r) => `| \`${r.file}\` | ${r.detected} | ${r.survived} | ${r.noCoverage} | ${r.score.toFixed(1)}% |`),
  `| all | ${total.detected} | | | ${((100 * total.detected) / total.valid).toFixed(1)}% |`].join('\n');
writeFileSync(path.join(dir, 'scores.md'), `${table}\n`);
console.log(table);
