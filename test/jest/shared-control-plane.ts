import { loadState, type ControlPlane } from '../../local-cluster/control-plane.ts';

/** The control plane started by the global setup, as seen from a test file. */
export function sharedControlPlane(): ControlPlane {
  const dir = process.env.SDC_CONTROL_PLANE_DIR;
  if (!dir) throw new Error('SDC_CONTROL_PLANE_DIR is not set: run e2e tests through jest (global setup starts the control plane)');
  return loadState(dir);
}

/** Synchronous last-resort teardown for exit paths where nothing can be awaited. */
export function killAllNow(cp: ControlPlane): void {
  for (const component of Object.values(cp.components)) {
    try {
      process.kill(-component.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
