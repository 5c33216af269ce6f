// The storm: many ordinals orphaned at once.
import PQueue from 'p-queue';
import type { ClusterClient } from '../../local-cluster/cluster-client.ts';
import { waitFor } from '../../local-cluster/processes.ts';
import { mergePatch } from '../common.ts';
import type { Observer } from '../observe.ts';
import type { SetRef } from '../populate.ts';

/** Every set of `sets` scaled to 1 at once: how long until every drain pod exists and every claim is released. */
export async function storm(c: ClusterClient, obs: Observer, sets: SetRef[]) {
  const ordinals = sets.flatMap((s) => Array.from({ length: s.replicas - 1 }, (_, i) => ({ set: s, ordinal: i + 1 })));
  const seen = new Set(obs.drainCreated.keys());
  const queue = new PQueue({ concurrency: 64 });
  const start = performance.now();
  for (const s of sets) {
    void queue.add(async () => {
      await c.apps.patchNamespacedStatefulSet({ namespace: s.namespace, name: s.name, body: { spec: { replicas: 1 } } }, mergePatch);
      for (let o = 1; o < s.replicas; o++) await c.core.deleteNamespacedPod({ namespace: s.namespace, name: `${s.name}-${o}`, gracePeriodSeconds: 0 });
    });
  }
  await queue.onIdle();
  const orphaned = performance.now();
  await waitFor('every storm drain pod', async () => ([...obs.drainCreated.keys()].filter((k) => k.startsWith('storm-') && !seen.has(k)).length >= ordinals.length) || undefined, 600_000, 20);
  const allCreated = Math.max(...[...obs.drainCreated].filter(([k]) => k.startsWith('storm-') && !seen.has(k)).map(([, t]) => t));
  await waitFor('every storm claim released', async () => ([...obs.claimDeleted.keys()].filter((k) => k.startsWith('storm-')).length >= ordinals.length) || undefined, 900_000, 50);
  const allReleased = Math.max(...[...obs.claimDeleted].filter(([k]) => k.startsWith('storm-')).map(([, t]) => t));
  return {
    ordinals: ordinals.length,
    orphaningSeconds: (orphaned - start) / 1000,
    allDrainPodsCreatedSeconds: (allCreated - orphaned) / 1000,
    allClaimsReleasedSeconds: (allReleased - orphaned) / 1000,
  };
}
