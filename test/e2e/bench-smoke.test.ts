// The benchmark harness still runs end to end (tiny size; its numbers are not judged here).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('npm run bench -- --smoke produces a complete result file', async () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'sdc-bench-'));
  await promisify(execFile)('npm', ['run', '-s', 'bench', '--', '--smoke', '--out', out], { cwd: root, timeout: 170_000 });
  const run = JSON.parse(readFileSync(path.join(out, 'smoke.json'), 'utf8')) as { results: Array<{ reactionMs: number[]; releaseMs: number[]; storm: { ordinals: number } }> };
  expect(run.results[0]!.reactionMs).toHaveLength(5);
  expect(run.results[0]!.releaseMs).toHaveLength(5);
  expect(run.results[0]!.storm.ordinals).toBe(8);
});
