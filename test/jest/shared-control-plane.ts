import { loadState, type ControlPlane } from '../../local-cluster/control-plane.ts';

/** The two control planes a run may start: kwok's simulated nodes (test/e2e) and one real node (test/real-node). */
export type PlaneKind = 'kwok' | 'real-node';

export const PLANE_DIR_VARIABLE: Record<PlaneKind, string> = { 'kwok': 'SDC_CONTROL_PLANE_DIR', 'real-node': 'SDC_REAL_NODE_DIR' };
/** Set (to the reason) when this machine cannot run a real node. */
export const REAL_NODE_UNAVAILABLE = 'SDC_REAL_NODE_UNAVAILABLE';

/** The control plane started by the global setup, as seen from a test file. */
export function sharedControlPlane(kind: PlaneKind = 'kwok'): ControlPlane {
  const dir = process.env[PLANE_DIR_VARIABLE[kind]];
  if (!dir)
    throw new Error(`${PLANE_DIR_VARIABLE[kind]} is not set: run these tests through jest (its global setup starts the control plane)`);
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
