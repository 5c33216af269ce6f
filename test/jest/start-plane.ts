// What the global set-up and teardown of each Jest project do with its control plane.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { loadState, startControlPlane, stopControlPlane, type ControlPlane } from '../../local-cluster/control-plane.ts';
import { killAllNow, PLANE_DIR_VARIABLE, REAL_NODE_UNAVAILABLE, type PlaneKind } from './shared-control-plane.ts';

const planes = (globalThis as { sdcControlPlanes?: Partial<Record<PlaneKind, ControlPlane>> }).sdcControlPlanes ??= {};

/**
 * One control plane of `kind` for the whole run; tests find it through its environment variable. A real
 * node needs root: without it the real-node tests are skipped, and say why (REAL_NODE_UNAVAILABLE).
 */
export async function startPlane(kind: PlaneKind): Promise<void> {
  if (kind === 'real-node' && process.getuid?.() !== 0) {
    // CI sets SDC_REQUIRE_REAL_NODE: there a skipped real-node test would be a silent gap, so it is a failure.
    if (process.env.SDC_REQUIRE_REAL_NODE)
      throw new Error('SDC_REQUIRE_REAL_NODE is set, but a real node needs root (containerd, network namespaces, mounts)');
    process.env[REAL_NODE_UNAVAILABLE] = 'a real node needs root (containerd, network namespaces, mounts)';
    process.stderr.write(`\nreal-node tests skipped: ${process.env[REAL_NODE_UNAVAILABLE]}\n`);
    return;
  }
  const cp = await startControlPlane({ realNode: kind === 'real-node' });
  process.env[PLANE_DIR_VARIABLE[kind]] = cp.dir;
  planes[kind] = cp;
  // Ctrl-C or a crash of the runner must not leave the control plane behind.
  const latest = () => {
    try {
      return loadState(cp.dir);
    } catch {
      return cp;
    }
  };
  process.once('exit', () => killAllNow(latest()));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAllNow(latest());
      process.exit(130);
    });
  }
}

/** Stops it. Its logs (small) are kept so a failed run can be diagnosed; etcd data is removed. */
export async function stopPlane(kind: PlaneKind): Promise<void> {
  const started = planes[kind];
  if (!started) return;
  // As saved on disk: a test may have restarted a component (the kubelet), which changed its pid there.
  const cp = loadState(started.dir);
  await stopControlPlane(cp, { keepDir: true });
  rmSync(path.join(cp.dir, 'etcd'), { recursive: true, force: true });
  process.stderr.write(`\n${kind} control plane logs: ${path.join(cp.dir, 'logs')}\n`);
}
