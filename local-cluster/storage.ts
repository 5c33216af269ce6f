// Local PersistentVolumes pinned to one fake node (StorageClass `local`), extra fake nodes to lose, and
// where a claim's files are on disk (the real node's host-path volumes).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClusterClient } from './cluster-client.ts';
import { eventually } from './cluster-client.ts';

/** Adds a kwok-managed node and waits until it is Ready. */
export async function addNode(c: ClusterClient, name: string): Promise<void> {
  await c.core.createNode({ body: {
    metadata: { name, labels: { type: 'kwok', 'kubernetes.io/hostname': name },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' } },
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
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In',
        values: [node] }] }] } },
    },
  } });
}

/** Where a claim's data is on this machine's disk (the local host-path provisioner's volumes). */
export async function claimDirectory(c: ClusterClient, namespace: string, claim: string): Promise<string> {
  const volume = (await c.core.readNamespacedPersistentVolumeClaim({ namespace, name: claim })).spec?.volumeName;
  const dir = volume ? (await c.core.readPersistentVolume({ name: volume })).spec?.hostPath?.path : undefined;
  if (!dir) throw new Error(`claim ${namespace}/${claim} is not bound to a host-path volume`);
  return dir;
}

/** Every file under `dir`, relative to it, with its content. */
export function filesUnder(dir: string): Record<string, string> {
  const walk = (at: string): string[] => readdirSync(at, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(at, e.name)) : [path.join(at, e.name)]));
  return Object.fromEntries(walk(dir).sort().map((file) => [path.relative(dir, file), readFileSync(file, 'latin1')]));
}
