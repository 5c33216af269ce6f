// A timeline of every pod named like a StatefulSet pod, kept by a watch that survives API server
// restarts (the controller's own resilient informer), for the invariant checks.
import type { V1Pod } from '@kubernetes/client-node';
import { KubeApi } from '../../src/kube/api.ts';
import { kubeconfigConfig } from '../../src/kube/connection-config.ts';
import { KubeHttpClient } from '../../src/kube/http-client.ts';
import { ResilientInformer } from '../../src/kube/informer.ts';
import { createLogger } from '../../src/log.ts';
import { drainPodClaims } from '../../src/planner/drain-pod.ts';
import { ROLE_DRAINER, ROLE_LABEL } from '../../src/planner/keys.ts';

export interface PodSighting {
  time: number;
  kind: 'add' | 'update' | 'delete';
  namespace: string;
  name: string;
  uid: string;
  drain: boolean;
  phase?: string;
  claimUids: string[];
}

export class PodHistory {
  readonly sightings: PodSighting[] = [];
  private readonly informer: ResilientInformer<V1Pod>;

  constructor(kubeconfig: string) {
    const client = new KubeHttpClient(kubeconfigConfig([kubeconfig]), 'fault-suite-history');
    const api = new KubeApi(client, { qps: 0, burst: 1 });
    this.informer = new ResilientInformer<V1Pod>(client, '/api/v1/pods', () => api.listPods(), (kind, pod) => {
      this.sightings.push({
        time: Date.now(), kind, namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '',
        drain: pod.metadata?.labels?.[ROLE_LABEL] === ROLE_DRAINER, phase: pod.status?.phase,
        claimUids: drainPodClaims(pod).map((c) => c.uid),
      });
    }, createLogger('error'));
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }
}
