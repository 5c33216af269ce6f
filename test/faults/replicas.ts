// The two controller replicas of a fault batch, and what can be done to one of them: kill, pause, a memory
// limit the kernel enforces with the OOM killer (as a container's memory limit does), and a wall clock that
// jumps (libfaketime reads the offset from a file; the monotonic clock is left alone, as an NTP step does).
import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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

export class Replicas {
  readonly running: Array<RunningController | undefined> = [undefined, undefined];
  /** Each replica's wall-clock offset in seconds (it survives restarts, like a host's clock). */
  readonly clockOffsets = [0, 0];
  private readonly kubeconfig: string;
  private readonly args: string[];
  private readonly dir: string;
  private readonly faketime = libfaketime();
  private readonly cgroups: string[] = [];

  constructor(kubeconfig: string, dir: string, args: string[]) {
    this.kubeconfig = kubeconfig;
    this.dir = dir;
    this.args = args;
  }

  private clockFile(i: number): string {
    return path.join(this.dir, `clock-${i}`);
  }

  async start(i: number): Promise<void> {
    writeFileSync(this.clockFile(i), `${this.clockOffsets[i]! >= 0 ? '+' : ''}${this.clockOffsets[i]}s\n`);
    const env: Record<string, string> = this.faketime
      ? { LD_PRELOAD: this.faketime, FAKETIME_TIMESTAMP_FILE: this.clockFile(i), FAKETIME_CACHE_DURATION: '1', DONT_FAKE_MONOTONIC: '1' }
      : {};
    this.running[i] = await startController(this.kubeconfig, [...this.args, ...LEASE], { waitReady: false, env });
  }

  async kill(i: number): Promise<void> {
    await this.running[i]?.stop('SIGKILL');
  }

  async stopAll(): Promise<void> {
    for (let i = 0; i < this.running.length; i++) await this.kill(i);
    for (const cgroup of this.cgroups.splice(0)) if (existsSync(cgroup)) rmdirSync(cgroup);
  }

  pause(i: number): void {
    this.running[i]?.process.kill('SIGSTOP');
  }

  resume(i: number): void {
    this.running[i]?.process.kill('SIGCONT');
  }

  /** Steps replica i's wall clock by `seconds` (either way); false when libfaketime is not installed. */
  jumpClock(i: number, seconds: number): boolean {
    if (!this.faketime) return false;
    this.clockOffsets[i] = this.clockOffsets[i]! + seconds;
    writeFileSync(this.clockFile(i), `${this.clockOffsets[i]! >= 0 ? '+' : ''}${this.clockOffsets[i]}s\n`);
    return true;
  }

  /**
   * Puts replica i in a memory cgroup that allows it `limitMiB` more than it has now, and waits up to
   * `waitMs` for the kernel's OOM killer. Returns whether it was killed; if not, the limit is lifted.
   */
  async squeezeMemory(i: number, limitMiB: number, waitMs: number): Promise<boolean> {
    const child = this.running[i]?.process;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null || !existsSync(MEMORY_CGROUPS)) return false;
    const cgroup = path.join(MEMORY_CGROUPS, `sdc-faults-${child.pid}`);
    mkdirSync(cgroup, { recursive: true });
    this.cgroups.push(cgroup);
    // Memory already in use stays charged to the old cgroup, so the limit counts only what is allocated from now on.
    writeFileSync(path.join(cgroup, 'cgroup.procs'), String(child.pid));
    writeFileSync(path.join(cgroup, 'memory.limit_in_bytes'), String(limitMiB << 20));
    const deadline = Date.now() + waitMs;
    while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) await sleep(100);
    const killed = child.signalCode === 'SIGKILL';
    if (!killed) writeFileSync(path.join(cgroup, 'memory.limit_in_bytes'), '-1');
    return killed;
  }
}
