// A small fault-suite batch in CI (the full suite, with random seeds and the ledger: npm run test:faults).
// CI uses a fixed seed so that a red build replays exactly.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('faults (controller kills, pauses, OOM kills and clock jumps, API server and etcd restarts, API faults, node loss) break no ' +
    'invariant', async () => {
  const result = await promisify(execFile)(process.execPath, [path.join(root, 'test', 'faults', 'run.ts'), '--seed', '20261123', '--worlds',
    '2', '--steps', '8'], { cwd: root, timeout: 300_000 })
    .catch((err: { stdout?: string; stderr?: string; message: string }) =>
      ({ stdout: `${err.stdout ?? ''}\n${err.stderr ?? ''}\n${err.message}` }));
  process.stdout.write(result.stdout);
  expect(result.stdout).toMatch(/^2 passed, 0 failed$/m);
  // Not vacuous: the checker found the controller's releases (named by its replicas' ServiceAccounts) to check.
  expect(result.stdout).toMatch(/^fault suite: .*claims released [1-9]/m);
}, 320_000);
