// Installing the controller as users do: its image (built from the Dockerfile, local-cluster/build/image.sh)
// in the real node's containerd, and the manifests through kustomize into a namespace.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ControlPlane } from './control-plane.ts';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const manifests = (overlay: string) => path.join(here, '..', 'manifests', overlay);

/** The name the manifests use (`images:` in manifests/base), as the kubelet resolves it. */
export const CONTROLLER_IMAGE = 'docker.io/library/statefulset-drain-controller:0.1.0';

/** A kustomization that installs `overlay` into `namespace`, as the README tells users to do. */
export function intoNamespace(overlay: string, namespace: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdc-kustomize-'));
  writeFileSync(path.join(dir, 'kustomization.yaml'), `namespace: ${namespace}\nresources:\n- ${path.relative(dir, manifests(overlay))}\n`);
  return dir;
}

/** helm 4: on PATH or in $HELM, else built once from its Go module and cached (build/ensure-helm.sh). */
export function helmBinary(): string {
  return execFileSync('bash', [path.join(here, 'build', 'ensure-helm.sh')],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** Builds the controller's image (cached) and loads it into the real node, as `kind load` would. Returns the image archive's path. */
export async function loadControllerImage(cp: ControlPlane): Promise<{ archive: string }> {
  if (!cp.realNode) throw new Error('the controller image runs on the real node only');
  const build = run('bash', [path.join(here, 'build', 'image.sh')], { maxBuffer: 16 << 20 });
  build.child.stderr?.pipe(process.stderr);
  const archive = (await build).stdout.trim();
  const ctr = (args: string[]) => run('nsenter',
    [`--net=/var/run/netns/${cp.realNode!.netns}`, 'ctr', '--address', cp.realNode!.containerdSocket, '--namespace', 'k8s.io', ...args]);
  await ctr(['images', 'import', archive]);
  await ctr(['images', 'tag', '--force', 'statefulset-drain-controller:0.1.0', CONTROLLER_IMAGE]);
  return { archive };
}
