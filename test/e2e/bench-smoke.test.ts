// The benchmark harness still runs end to end (tiny size; its numbers are not judged here).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ratios, type SizeResult } from '../../bench/report.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('npm run bench -- --smoke produces a complete result file and report, with the bare writer and consumer', async () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'sdc-bench-'));
  await promisify(execFile)('npm', ['run', '-s', 'bench', '--', '--smoke', '--out', out], { cwd: root, timeout: 170_000 });
  const run = JSON.parse(readFileSync(path.join(out, 'smoke.json'), 'utf8')) as { results: SizeResult[] };
  const result = run.results[0]!;
  expect(result.reactionMs).toHaveLength(5);
  expect(result.releaseMs).toHaveLength(5);
  expect(result.storm.ordinals).toBe(8);
  // Which controller was measured: this checkout's commit.
  expect(result.controller).toMatch(/^[0-9a-f]{7,}(-dirty)?$/);
  // The bare writer made the same storm; the bare consumer read every object the controller watches.
  expect(result.bare.storm.ordinals).toBe(8);
  expect(result.bare.sync.objects).toBeGreaterThanOrEqual(10 * 2 * (1 + 3 + 3));
  for (const ratio of Object.values(ratios(result))) expect(ratio).toBeGreaterThan(0);
  const report = readFileSync(path.join(out, 'README.md'), 'utf8');
  expect(report).toMatch(/\| 10 \| [\d,]+ \| \*\*\d+\.\d\dx\*\*/);
  expect(report).toContain(`Controller measured: commit ${result.controller} (10 sets).`);
  expect(existsSync(path.join(out, 'growth.svg'))).toBe(true);
});
