// Fills the API server with StatefulSets, claims and pods directly (the StatefulSet controller is off in
// the benchmark's control plane), so 10,000-set clusters fit on 2 cores.
import PQueue from 'p-queue';
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { ClusterClient } from '../local-cluster/cluster-client.ts';
import { waitFor } from '../local-cluster/processes.ts';
import { TEMPLATE_ANNOTATION } from '../local-cluster/workloads.ts';

/** Drain pods go straight to a kwok node (their claims are never Bound here) and finish quickly. */
export const benchTemplate = JSON.stringify({
  metadata: { labels: { role: 'bench-drain' }, annotations: { 'drain-sim/complete-after': '100ms' } },
  spec: { nodeName: 'kwok-node-0', restartPolicy: 'Never',
    containers: [{ name: 'drain', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] }] },
});

export interface SetRef {
  namespace: string;
  name: string;
  uid: string;
  replicas: number;
  /** UID of each ordinal's claim, by ordinal. */
  claimUids: string[];
}

export function setBody(name: string, replicas: number, annotated: boolean): V1StatefulSet {
  return {
    metadata: { name, annotations: annotated ? { [TEMPLATE_ANNOTATION]: benchTemplate } : {} },
    spec: {
      replicas, serviceName: name, podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  };
}

export function claimBody(set: SetRef, ordinal: number): V1PersistentVolumeClaim {
  return {
    metadata: { name: `data-${set.name}-${ordinal}`, labels: { app: set.name } },
    // A class with no provisioner: claims stay Pending, so no PersistentVolumes are made.
    spec: { storageClassName: 'bench-none', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  };
}

export function podBody(set: SetRef, ordinal: number): V1Pod {
  return {
    metadata: {
      // The labels the StatefulSet controller gives its pods (the controller watches pods by the first).
      name: `${set.name}-${ordinal}`,
      labels: { 'app': set.name, 'statefulset.kubernetes.io/pod-name': `${set.name}-${ordinal}`,
        'apps.kubernetes.io/pod-index': String(ordinal) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: set.name, uid: set.uid, controller: true }],
    },
    // A scheduler that does not exist: the pod simply exists, as a stateful pod would, costs no scheduling
    // work, and is removed at once when deleted (no kubelet has to confirm).
    spec: { schedulerName: 'bench-no-scheduler', containers: [{ name: 'app', image: 'busybox' }] },
  };
}

export async function createSet(c: ClusterClient, namespace: string, name: string, replicas: number, annotated: boolean): Promise<SetRef> {
  const created = await c.apps.createNamespacedStatefulSet({ namespace, body: setBody(name, replicas, annotated) });
  const set: SetRef = { namespace, name, uid: created.metadata!.uid!, replicas, claimUids: [] };
  for (let o = 0; o < replicas; o++) {
    set.claimUids[o] = (await c.core.createNamespacedPersistentVolumeClaim({ namespace, body: claimBody(set, o) })).metadata!.uid!;
    await c.core.createNamespacedPod({ namespace, body: podBody(set, o) });
  }
  return set;
}

/** `count` annotated sets and `count` unannotated ones, 3 replicas each, spread over namespaces. */
export async function populate(c: ClusterClient, count: number, namespaces: number, prefix: string, replicas = 3,
  progress: (done: number) => void = () => {}): Promise<SetRef[]> {
  const nsNames = Array.from({ length: namespaces }, (_, i) => `${prefix}-${i}`);
  for (const ns of nsNames) await c.core.createNamespace({ body: { metadata: { name: ns } } }).catch(() => undefined);
  // Admission refuses pods in a namespace whose default service account is not made yet.
  await waitFor('default service accounts', async () => {
    const accounts = await c.core.listServiceAccountForAllNamespaces({ fieldSelector: 'metadata.name=default' });
    const ready = new Set(accounts.items.map((a) => a.metadata?.namespace));
    return nsNames.every((ns) => ready.has(ns)) || undefined;
  }, 60_000);
  const queue = new PQueue({ concurrency: 32 });
  const annotated: SetRef[] = [];
  let done = 0;
  const created: Array<Promise<void>> = [];
  for (let i = 0; i < count; i++) {
    const ns = nsNames[i % namespaces]!;
    created.push(queue.add(async () => {
      annotated[i] = await createSet(c, ns, `s${i}`, replicas, true);
      await createSet(c, ns, `n${i}`, replicas, false);
      if (++done % 500 === 0) progress(done);
    }));
  }
  // A failure reaches the caller (which then stops its control plane) instead of ending the process.
  await Promise.all(created);
  return annotated;
}
