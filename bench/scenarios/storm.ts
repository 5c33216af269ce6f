// The storm: many ordinals orphaned at once.
import PQueue from 'p-queue';
import type { ClusterClient } from '../../local-cluster/cluster-client.ts';
import { waitFor } from '../../local-cluster/processes.ts';
import { mergePatch } from '../common.ts';
import type { Observer } from '../observe.ts';
import { percentile } from '../prometheus.ts';
import type { SetRef } from '../populate.ts';

export interface StormResult {
  ordinals: number;
  orphaningSeconds: number;
  allDrainPodsCreatedSeconds: number;
  allClaimsReleasedSeconds: number;
  /** Per ordinal, from its pod's deletion (the call returned) to its drain pod's creation (seen on a watch): p50, p90, p99, max. */
  reactionMs: [number, number, number, number];
}

/**
 * Every set of `sets` (all in namespaces starting with `prefix`) scaled to 1 at once: how long from the end
 * of the orphaning until every drain pod exists and every claim is released. `orphaned` is told of each set
 * as soon as its pods are deleted (the bare writer starts there; the controller learns it from its watches).
 */
export async function storm(c: ClusterClient, obs: Observer, sets: SetRef[], prefix: string,
    orphaned: (set: SetRef) => void = () => {}): Promise<StormResult> {
  const ordinals = sets.flatMap((s) => Array.from({ length: s.replicas - 1 }, (_, i) => ({ set: s, ordinal: i + 1 })));
  const ours = (key: string) => key.startsWith(prefix);
  const seen = new Set(obs.drainCreated.keys());
  const queue = new PQueue({ concurrency: 64 });
  /** When each ordinal's pod deletion returned, by `namespace/pod name`. */
  const orphanedAt = new Map<string, number>();
  const start = performance.now();
  for (const s of sets) {
    void queue.add(async () => {
      await c.apps.patchNamespacedStatefulSet({ namespace: s.namespace, name: s.name, body: { spec: { replicas: 1 } } }, mergePatch);
      for (let o = 1; o < s.replicas; o++) {
        await c.core.deleteNamespacedPod({ namespace: s.namespace, name: `${s.name}-${o}`, gracePeriodSeconds: 0 });
        orphanedAt.set(`${s.namespace}/${s.name}-${o}`, performance.now());
      }
      orphaned(s);
    });
  }
  await queue.onIdle();
  const end = performance.now();
  const created = () => [...obs.drainCreated].filter(([k]) => ours(k) && !seen.has(k));
  const released = () => [...obs.claimDeleted].filter(([k]) => ours(k));
  await waitFor('every storm drain pod', async () => (created().length >= ordinals.length) || undefined, 600_000, 20);
  const allCreated = Math.max(...created().map(([, t]) => t));
  await waitFor('every storm claim released', async () => (released().length >= ordinals.length) || undefined, 900_000, 50);
  const allReleased = Math.max(...released().map(([, t]) => t));
  const reaction = created().map(([key, t]) => t - orphanedAt.get(key.slice(0, key.lastIndexOf('/')))!);
  return {
    reactionMs: [percentile(reaction, 50), percentile(reaction, 90), percentile(reaction, 99), Math.max(...reaction)],
    ordinals: ordinals.length,
    orphaningSeconds: (end - start) / 1000,
    allDrainPodsCreatedSeconds: (allCreated - end) / 1000,
    allClaimsReleasedSeconds: (allReleased - end) / 1000,
  };
}
