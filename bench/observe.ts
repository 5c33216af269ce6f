// Watches drain pods and claims across the cluster and timestamps what the benchmark waits for. Uses the
// controller's own informer: it watches with bookmarks and resumes after any interruption (client-node's
// Watch gives up after 30 s without data, which lost a whole storm once).
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { KubeApi } from '../src/kube/api.ts';
import { kubeconfigConfig } from '../src/kube/connection-config.ts';
import { KubeHttpClient } from '../src/kube/http-client.ts';
import { ResilientInformer } from '../src/kube/informer.ts';
import { createLogger } from '../src/log.ts';
import { ROLE_DRAINER, ROLE_LABEL } from '../src/planner/keys.ts';

const DRAINERS = `${ROLE_LABEL}=${ROLE_DRAINER}`;

export class Observer {
  readonly drainCreated = new Map<string, number>();
  readonly drainSucceeded = new Map<string, number>();
  readonly claimDeleted = new Map<string, number>();
  /** Called once when the drain pod with this key (`namespace/name/uid`) is seen Succeeded. */
  private readonly onSucceeded = new Map<string, () => void>();
  /** Called once when the drain pod or claim with this key is seen deleted. */
  private readonly onGone = new Map<string, () => void>();
  private readonly gone = new Set<string>();
  private readonly informers: [ResilientInformer<V1Pod>, ResilientInformer<V1PersistentVolumeClaim>];

  constructor(kubeconfig: string) {
    const client = new KubeHttpClient(kubeconfigConfig([kubeconfig]), 'benchmark-observer');
    const api = new KubeApi(client, { qps: 0, burst: 1 });
    const log = createLogger('warn');
    const key = (o: V1Pod | V1PersistentVolumeClaim) => `${o.metadata?.namespace}/${o.metadata?.name}/${o.metadata?.uid}`;
    this.informers = [
      new ResilientInformer<V1Pod>(client, '/api/v1/pods', () => api.listPods(undefined, { labelSelector: DRAINERS }), (kind, pod) => {
        const now = performance.now();
        if (kind === 'add' && !this.drainCreated.has(key(pod))) this.drainCreated.set(key(pod), now);
        if (pod.status?.phase === 'Succeeded' && !this.drainSucceeded.has(key(pod))) {
          this.drainSucceeded.set(key(pod), now);
          this.onSucceeded.get(key(pod))?.();
          this.onSucceeded.delete(key(pod));
        }
        if (kind === 'delete') this.seenGone(key(pod));
      }, log, { labelSelector: DRAINERS }),
      new ResilientInformer<V1PersistentVolumeClaim>(client, '/api/v1/persistentvolumeclaims', () => api.listClaims(), (kind, claim) => {
        if ((claim.metadata?.deletionTimestamp || kind === 'delete') && !this.claimDeleted.has(key(claim)))
          this.claimDeleted.set(key(claim), performance.now());
        if (kind === 'delete') this.seenGone(key(claim));
      }, log),
    ];
  }

  /** Runs `then` once the drain pod `namespace/name/uid` has Succeeded (at once if it has already). */
  whenSucceeded(podKey: string, then: () => void): void {
    if (this.drainSucceeded.has(podKey)) then();
    else this.onSucceeded.set(podKey, then);
  }

  /** Runs `then` once the drain pod or claim `namespace/name/uid` is gone from the API (at once if it is already). */
  whenGone(key: string, then: () => void): void {
    if (this.gone.has(key)) then();
    else this.onGone.set(key, then);
  }

  private seenGone(key: string): void {
    this.gone.add(key);
    this.onGone.get(key)?.();
    this.onGone.delete(key);
  }

  async start(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.start()));
  }

  stop(): Promise<void> {
    return Promise.all(this.informers.map((i) => i.stop())).then(() => undefined);
  }
}
