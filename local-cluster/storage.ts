// Local PersistentVolumes pinned to one fake node (StorageClass `local`), and extra fake nodes to lose.
import type { ClusterClient } from './cluster-client.ts';
import { eventually } from './cluster-client.ts';

/** Adds a kwok-managed node and waits until it is Ready. */
export async function addNode(c: ClusterClient, name: string): Promise<void> {
  await c.core.createNode({ body: {
    metadata: { name, labels: { type: 'kwok', 'kubernetes.io/hostname': name }, annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' } },
  } });
  await eventually(`node ${name} Ready`, async () =>
    (await c.core.readNode({ name })).status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
}

/** A local PV of class `local` that only `node` can mount. */
export async function createLocalVolume(c: ClusterClient, name: string, node: string, size = '1Gi'): Promise<void> {
  await c.core.createPersistentVolume({ body: {
    metadata: { name },
    spec: {
      capacity: { storage: size }, accessModes: ['ReadWriteOnce'], storageClassName: 'local',
      persistentVolumeReclaimPolicy: 'Retain',
      local: { path: `/mnt/disks/${name}` },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] } },
    },
  } });
}
