// The two controller replicas of a fault batch, and what can be done to one of them: kill, pause, a memory
// limit the kernel enforces with the OOM killer (as a container's memory limit does), and a wall clock that
// jumps (libfaketime reads the offset from a file; the monotonic clock is left alone, as an NTP step does).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import type { AuditEvent } from '../../local-cluster/audit.ts';
import type { ClusterClient } from '../../local-cluster/cluster-client.ts';
import { startController, type RunningController } from '../../local-cluster/controller-process.ts';
import { sleep } from '../../local-cluster/processes.ts';

const LEASE = ['--lease-duration=4s', '--renew-deadline=3s', '--retry-period=500ms', '--backoff-base=1s', '--backoff-max=4s'];
/** Lease duration minus renew deadline: the least time between two replicas' writes. */
export const LEADER_GAP_MS = 1000;
const MEMORY_CGROUPS = '/sys/fs/cgroup/memory';

/** libfaketime from Debian's libfaketime package (local-cluster/build/ensure-node-packages.sh installs it). */
export function libfaketime(): string | undefined {
  for (const dir of existsSync('/usr/lib') ? readdirSync('/usr/lib') : []) {
    const lib = path.join('/usr/lib', dir, 'faketime', 'libfaketime.so.1');
    if (existsSync(lib)) return lib;
  }
  return undefined;
}

/** Where the replicas' ServiceAccounts and their Lease live. */
export const LEASE_NAMESPACE = 'faults-lease';
const account = (i: number) => `sdc-replica-${i}`;
const MANIFESTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'manifests');
const CLUSTER_RBAC = path.join(MANIFESTS, 'cluster-wide', 'cluster-rbac.yaml');
const KEEP_VOLUME_RBAC = path.join(MANIFESTS, 'keep-volume', 'keep-volume-rbac.yaml');

/**
 * Replica i runs as ServiceAccount `sdc-replica-<i>`, with the permissions a real install grants (the
 * ClusterRoles of manifests/cluster-wide and manifests/keep-volume, and the Lease): the audit log then names it by its user, which no
 * other client can claim, unlike a User-Agent. Returns each replica's kubeconfig (the proxy's, with the
 * account's token).
 */
export async function replicaKubeconfigs(c: ClusterClient, proxyKubeconfig: string, dir: string): Promise<string[]> {
  await c.kubectl(['apply', '-f', CLUSTER_RBAC]);
  await c.kubectl(['apply', '-f', KEEP_VOLUME_RBAC]);
  await c.kubectl(['-n', LEASE_NAMESPACE, 'create', 'role', 'sdc-leases', '--verb=get,update,create', '--resource=leases']);
  const kubeconfigs: string[] = [];
  for (const i of [0, 1]) {
    await c.kubectl(['-n', LEASE_NAMESPACE, 'create', 'serviceaccount', account(i)]);
    for (const role of ['statefulset-drain-controller', 'statefulset-drain-controller-keep-volume']) {
      await c.kubectl(['create', 'clusterrolebinding', `${LEASE_NAMESPACE}-${account(i)}-${role}`, `--clusterrole=${role}`,
        `--serviceaccount=${LEASE_NAMESPACE}:${account(i)}`]);
    }
    await c.kubectl(['-n', LEASE_NAMESPACE, 'create', 'rolebinding', account(i), '--role=sdc-leases',
      `--serviceaccount=${LEASE_NAMESPACE}:${account(i)}`]);
    const token = (await c.kubectl(['-n', LEASE_NAMESPACE, 'create', 'token', account(i), '--duration=48h'])).trim();
    const doc = parse(readFileSync(proxyKubeconfig, 'utf8')) as { users: Array<{ user: Record<string, unknown> }> };
    for (const user of doc.users) user.user = { token };
    const file = path.join(dir, `replica-${i}.kubeconfig`);
    writeFileSync(file, stringify(doc));
    kubeconfigs.push(file);
  }
  return kubeconfigs;
}

/** The replica (0 or 1) whose ServiceAccount the API server authenticated for `e`, or undefined for anyone else. */
export function serviceAccountReplica(e: AuditEvent): string | undefined {
  const match = /^system:serviceaccount:([^:]+):sdc-replica-([01])$/.exec(e.username);
  return match?.[1] === LEASE_NAMESPACE ? match[2] : undefined;
}

export class Replicas {
  readonly running: Array<RunningController | undefined> = [undefined, undefined];
  /** Each replica's wall-clock offset in seconds (it survives restarts, like a host's clock). */
  readonly clockOffsets = [0, 0];
  private readonly kubeconfigs: string[];
  private readonly args: string[];
  private readonly dir: string;
  private readonly faketime = libfaketime();
  private readonly cgroups: string[] = [];

  /** `kubeconfigs[i]`: how replica i reaches the API server (replicaKubeconfigs). */
  constructor(kubeconfigs: string[], dir: string, args: string[]) {
    this.kubeconfigs = kubeconfigs;
    this.dir = dir;
    this.args = args;
  }

  private clockFile(i: number): string {
    return path.join(this.dir, `clock-${i}`);
  }

  /** Replica i's memory cgroup (v1), which it is moved into as it starts, as a container's processes are. */
  private cgroup(i: number): string | undefined {
    if (!existsSync(MEMORY_CGROUPS)) return undefined;
    const cgroup = path.join(MEMORY_CGROUPS, `sdc-faults-${path.basename(this.dir)}-${i}`);
    mkdirSync(cgroup, { recursive: true });
    writeFileSync(path.join(cgroup, 'memory.limit_in_bytes'), '-1');
    if (!this.cgroups.includes(cgroup)) this.cgroups.push(cgroup);
    return cgroup;
  }

  /** libfaketime reads the offset from this file (re-read every second). */
  private writeClock(i: number): void {
    writeFileSync(this.clockFile(i), `${this.clockOffsets[i]! >= 0 ? '+' : ''}${this.clockOffsets[i]}s\n`);
  }

  async start(i: number): Promise<void> {
    this.writeClock(i);
    const env: Record<string, string> = this.faketime
      ? { LD_PRELOAD: this.faketime, FAKETIME_TIMESTAMP_FILE: this.clockFile(i), FAKETIME_CACHE_DURATION: '1', DONT_FAKE_MONOTONIC: '1' }
      : {};
    const replica = await startController(this.kubeconfigs[i]!, [...this.args, ...LEASE], { waitReady: false, env });
    this.running[i] = replica;
    // Moved before Node.js has loaded anything, so that (nearly) all of its memory is charged to the cgroup.
    const cgroup = this.cgroup(i);
    if (cgroup && replica.process.pid) writeFileSync(path.join(cgroup, 'cgroup.procs'), String(replica.process.pid));
  }

  async kill(i: number): Promise<void> {
    await this.running[i]?.stop('SIGKILL');
  }

  async stopAll(): Promise<void> {
    for (let i = 0; i < this.running.length; i++) await this.kill(i);
    // A cgroup can be removed once its processes have exited.
    for (const cgroup of this.cgroups.splice(0)) if (existsSync(cgroup)) rmdirSync(cgroup);
  }

  pause(i: number): void {
    this.running[i]?.process.kill('SIGSTOP');
  }

  resume(i: number): void {
    this.running[i]?.process.kill('SIGCONT');
  }

  /** The replica holding the lease now, by its own metrics; replica 0 when neither says so. */
  async leader(): Promise<number> {
    for (const [i, replica] of this.running.entries()) {
      const metrics = await replica?.metrics().catch(() => '');
      if (metrics && /^sdc_leader 1$/m.test(metrics)) return i;
    }
    return 0;
  }

  /** Steps replica i's wall clock by `seconds` (either way); false when libfaketime is not installed. */
  jumpClock(i: number, seconds: number): boolean {
    if (!this.faketime) return false;
    this.clockOffsets[i] = this.clockOffsets[i]! + seconds;
    this.writeClock(i);
    return true;
  }

  /**
   * Lowers replica i's memory limit to what it uses now, as if its container's limit were that tight, and
   * waits up to `waitMs` for the kernel's OOM killer. Returns whether it was killed; if not, the limit is
   * lifted again.
   */
  async squeezeMemory(i: number, waitMs: number): Promise<boolean> {
    const child = this.running[i]?.process;
    const cgroup = this.cgroup(i);
    if (!child || !cgroup || child.exitCode !== null || child.signalCode !== null) return false;
    const usage = Number(readFileSync(path.join(cgroup, 'memory.usage_in_bytes'), 'utf8'));
    writeFileSync(path.join(cgroup, 'memory.limit_in_bytes'), String(usage));
    const deadline = Date.now() + waitMs;
    while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) await sleep(100);
    writeFileSync(path.join(cgroup, 'memory.limit_in_bytes'), '-1');
    return child.signalCode === 'SIGKILL';
  }
}
