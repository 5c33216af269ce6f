// The README's demo command runs end to end and ends with the orphaned claim gone and the others Bound. As
// root (CI, the README's machine) it runs on a real node: the drain container's own output and the archived
// shard, read back from the archive volume's disk, are part of what it prints.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('npm run demo: scale 3 -> 2, drain pod completes, claim released, two claims Bound', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(root, 'scripts', 'demo.ts')], { cwd: root, timeout: 170_000 });
  expect(stdout).toMatch(/kubectl scale sts datastore --replicas 2/);
  expect(stdout).toMatch(/drain pod datastore-2 is Succeeded/);
  expect(stdout).toMatch(/drain pod datastore-2 deleted/);
  expect(stdout).toMatch(/claim data-datastore-2 released/);
  // The name stays taken while the claim is deleted, and is freed only after it is gone.
  expect(stdout.indexOf('placeholder datastore-2 takes the name')).toBeGreaterThan(stdout.indexOf('drain pod datastore-2 deleted'));
  expect(stdout.indexOf('placeholder datastore-2 deleted')).toBeGreaterThan(stdout.indexOf('claim data-datastore-2 released'));
  const final = stdout.slice(stdout.indexOf('Final state:'), stdout.indexOf('Events on the StatefulSet'));
  expect(final).not.toMatch(/data-datastore-2/);
  expect(final.match(/data-datastore-[01]\s+Bound/g)).toHaveLength(2);
  expect(stdout).toMatch(/local control plane stopped/);
  if (process.getuid?.() === 0) {
    expect(stdout).toMatch(/a real node/);
    expect(stdout).toMatch(/drain container: shard datastore-2 archived: 1 files verified/);
    expect(stdout).toMatch(/^\s+[0-9a-f]{16}\s+18 B\s+datastore-2\/shard\.txt: shard datastore-2$/m);
  } else {
    expect(stdout).toMatch(/no real node: a real node needs root/);
  }
});
