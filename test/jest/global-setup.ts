import { startControlPlane, type ControlPlane } from '../../local-cluster/control-plane.ts';
import { killAllNow } from './shared-control-plane.ts';

/** One control plane for the whole run; tests find it through SDC_CONTROL_PLANE_DIR. */
export default async function globalSetup(): Promise<void> {
  const cp: ControlPlane = await startControlPlane();
  process.env.SDC_CONTROL_PLANE_DIR = cp.dir;
  (globalThis as { sdcControlPlane?: ControlPlane }).sdcControlPlane = cp;
  // Ctrl-C or a crash of the runner must not leave the control plane behind.
  process.once('exit', () => killAllNow(cp));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAllNow(cp);
      process.exit(130);
    });
  }
}
