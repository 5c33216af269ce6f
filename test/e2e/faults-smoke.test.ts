// A small fault-suite run in CI (the full suite, with random seeds: npm run test:faults). CI uses a fixed
// seed so that a red build replays exactly.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('faults (controller kills and pauses, API server and etcd restarts) break no invariant', async () => {
  const result = await promisify(execFile)(process.execPath, [path.join(root, 'test', 'faults', 'run.ts'), '--runs', '1', '--steps', '6', '--seed', '20261123'], { cwd: root, timeout: 170_000 })
    .catch((err: { stdout?: string; message: string }) => ({ stdout: err.stdout ?? err.message }));
  process.stdout.write(result.stdout);
  expect(result.stdout).toMatch(/violations 0/);
  expect(result.stdout).toMatch(/^1 passed, 0 failed$/m);
});
