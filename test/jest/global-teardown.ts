import { rmSync } from 'node:fs';
import path from 'node:path';
import { stopControlPlane, type ControlPlane } from '../../local-cluster/control-plane.ts';

/** Stops the run's control plane. Its logs (small) are kept so a failed run can be diagnosed; etcd data is removed. */
export default async function globalTeardown(): Promise<void> {
  const cp = (globalThis as { sdcControlPlane?: ControlPlane }).sdcControlPlane;
  if (!cp) return;
  await stopControlPlane(cp, { keepDir: true });
  rmSync(path.join(cp.dir, 'etcd'), { recursive: true, force: true });
  process.stderr.write(`\ncontrol plane logs: ${path.join(cp.dir, 'logs')}\n`);
}
