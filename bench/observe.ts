// Watches drain pods and claims across the cluster and timestamps what the benchmark waits for.
import { Watch, type KubeConfig, type V1PersistentVolumeClaim, type V1Pod } from '@kubernetes/client-node';

export class Observer {
  readonly drainCreated = new Map<string, number>();
  readonly drainSucceeded = new Map<string, number>();
  readonly claimDeleted = new Map<string, number>();
  private readonly aborts: AbortController[] = [];
  private readonly watch: Watch;

  constructor(kc: KubeConfig) {
    this.watch = new Watch(kc);
  }

  async start(): Promise<void> {
    this.aborts.push(await this.watch.watch('/api/v1/pods', { labelSelector: 'drain.statefulsets.kubernetes.io/role=drainer' }, (phase, pod: V1Pod) => {
      const key = `${pod.metadata?.namespace}/${pod.metadata?.name}/${pod.metadata?.uid}`;
      const now = performance.now();
      if (phase === 'ADDED' && !this.drainCreated.has(key)) this.drainCreated.set(key, now);
      if (pod.status?.phase === 'Succeeded' && !this.drainSucceeded.has(key)) this.drainSucceeded.set(key, now);
    }, () => {}));
    this.aborts.push(await this.watch.watch('/api/v1/persistentvolumeclaims', {}, (phase, claim: V1PersistentVolumeClaim) => {
      const key = `${claim.metadata?.namespace}/${claim.metadata?.name}/${claim.metadata?.uid}`;
      if ((claim.metadata?.deletionTimestamp || phase === 'DELETED') && !this.claimDeleted.has(key)) this.claimDeleted.set(key, performance.now());
    }, () => {}));
  }

  /** First time for a key starting with `prefix` (namespace/name/), polling until it appears. */
  async when(map: Map<string, number>, prefix: string, timeoutMs = 60_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      for (const [key, t] of map) if (key.startsWith(prefix)) return t;
      await new Promise((r) => setTimeout(r, 2));
    }
    throw new Error(`timed out waiting for ${prefix}`);
  }

  stop(): void {
    for (const a of this.aborts) a.abort();
  }
}
