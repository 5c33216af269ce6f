import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export interface ControlPlaneBinaries {
  etcd: string;
  'kube-apiserver': string;
  'kube-controller-manager': string;
  'kube-scheduler': string;
  kwok: string;
  /** With a real node only. */
  kubelet?: string;
  'kube-proxy'?: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.join(here, 'build', 'ensure-binaries.sh');

/** The pinned component versions, read from versions.env (the one place they are written). */
export function componentVersions(): { kubernetes: string; etcd: string; kwok: string } {
  const env = Object.fromEntries(readFileSync(path.join(here, 'versions.env'), 'utf8').split('\n')
    .map((line) => /^([A-Z_]+)=(.*)$/.exec(line.trim())).filter((m) => m !== null).map((m) => [m[1]!, m[2]!]));
  return { kubernetes: env.KUBERNETES_VERSION!, etcd: env.ETCD_VERSION!, kwok: env.KWOK_VERSION! };
}

/** Finds the binaries (KUBEBUILDER_ASSETS, PATH, cache) or builds them; build progress streams to stderr. */
export async function ensureBinaries(options: { realNode?: boolean } = {}): Promise<ControlPlaneBinaries> {
  const child = promisify(execFile)('bash', [script],
    { maxBuffer: 1 << 20, env: { ...process.env, SDC_REAL_NODE: options.realNode ? '1' : '0' } });
  child.child.stderr?.pipe(process.stderr);
  const { stdout } = await child;
  const found: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) found[line.slice(0, eq)] = line.slice(eq + 1);
  }
  for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok',
      ...(options.realNode ? ['kubelet', 'kube-proxy'] : [])]) {
    if (!found[name]) throw new Error(`ensure-binaries.sh did not report a path for ${name}`);
  }
  return found as unknown as ControlPlaneBinaries;
}
