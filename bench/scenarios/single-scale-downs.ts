// Single scale-downs, one set at a time: reaction (stateful pod deleted -> drain pod created), release
// (drain Succeeded -> claim deleted) and the API requests per drain. Each sampled set is restored afterwards.
import PQueue from 'p-queue';
import type { ClusterClient } from '../../local-cluster/cluster-client.ts';
import type { RunningController } from '../../local-cluster/controller-process.ts';
import { waitFor } from '../../local-cluster/processes.ts';
import { ROLE_DRAINER, ROLE_LABEL } from '../../src/planner/keys.ts';
import { log, mergePatch } from '../common.ts';
import type { Observer } from '../observe.ts';
import { claimBody, podBody, type SetRef } from '../populate.ts';
import { diffCounts, requestCounts } from '../prometheus.ts';

/** True once the object is gone (404); any other error is thrown, so waitFor retries instead of believing it. */
async function gone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return true;
    throw err;
  }
}

/** Puts a sampled set back to 3 replicas, as it was, once its drain is over. */
async function restore(c: ClusterClient, set: SetRef): Promise<void> {
  await waitFor('drain finished',
    async () => (await gone(() => c.core.readNamespacedPod({ namespace: set.namespace, name: `${set.name}-2` }))) || undefined, 60_000);
  await waitFor('claim gone', async () => (await gone(() => c.core.readNamespacedPersistentVolumeClaim({ namespace: set.namespace,
    name: `data-${set.name}-2` }))) || undefined, 60_000);
  // Replicas first: a claim that reappeared while the set is at 2 would be (rightly) drained again.
  await c.apps.patchNamespacedStatefulSet({ namespace: set.namespace, name: set.name, body: { spec: { replicas: 3 } } }, mergePatch);
  // Retried: a name can still be taken for a moment by an object that is going away.
  await waitFor('claim recreated',
    async () => c.core.createNamespacedPersistentVolumeClaim({ namespace: set.namespace, body: claimBody(set, 2) }), 60_000);
  await waitFor('pod recreated', async () => c.core.createNamespacedPod({ namespace: set.namespace, body: podBody(set, 2) }), 60_000);
}

export async function scaleDownSamples(c: ClusterClient, obs: Observer, sets: SetRef[], controller: RunningController, samples: number) {
  const reaction: number[] = [];
  const release: number[] = [];
  const restores = new PQueue({ concurrency: 4 });
  const before = requestCounts(await controller.metrics());
  for (let i = 0; i < samples; i++) {
    const set = sets[i % sets.length]!;
    if (i >= sets.length) await restores.onIdle();
    const claim = await c.core.readNamespacedPersistentVolumeClaim({ namespace: set.namespace, name: `data-${set.name}-2` });
    const pod = await c.core.readNamespacedPod({ namespace: set.namespace, name: `${set.name}-2` });
    await c.apps.patchNamespacedStatefulSet({ namespace: set.namespace, name: set.name, body: { spec: { replicas: 2 } } }, mergePatch);
    const seen = new Set(obs.drainCreated.keys());
    await c.core.deleteNamespacedPod({ namespace: set.namespace, name: `${set.name}-2`, gracePeriodSeconds: 0,
      body: { preconditions: { uid: pod.metadata!.uid } } });
    const deletedAt = performance.now();
    const prefix = `${set.namespace}/${set.name}-2/`;
    const created = await waitFor('drain pod',
      async () => [...obs.drainCreated].find(([k]) => k.startsWith(prefix) && !seen.has(k)), 60_000);
    reaction.push(created[1] - deletedAt);
    const succeeded = await waitFor('drain Succeeded', async () => obs.drainSucceeded.get(created[0]), 60_000)
        .catch(async (err: unknown) => {
      const pods = await c.core.listNamespacedPod({ namespace: set.namespace, labelSelector: `${ROLE_LABEL}=${ROLE_DRAINER}` });
      log(`sample ${i}: ${String(err)}; drain pods now: ${JSON.stringify(pods.items.map((p) => [p.metadata?.name, p.metadata?.uid,
        p.status?.phase, p.spec?.nodeName]))}; key ${created[0]}`);
      throw err;
    });
    const claimDeleted = await waitFor('claim deleted',
      async () => obs.claimDeleted.get(`${set.namespace}/data-${set.name}-2/${claim.metadata!.uid}`), 60_000);
    release.push(claimDeleted - succeeded);
    void restores.add(() => restore(c, set));
  }
  await restores.onIdle();
  const perDrain = diffCounts(requestCounts(await controller.metrics()), before, samples);
  return { reaction, release, perDrain };
}
