// The executor's last word before a claim is deleted: the StatefulSet, the drain pod and the claim read from
// etcd (quorum reads, never a cache), and the planner's release proof asked again of what they say now. A
// plan comes from a cache that may be older than the claim's last use: a scale-up not seen yet, a pod watch
// gone silent after a drain pod was deleted and its replica came back.
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { inRange } from '../planner/identity.ts';
import { whyNotReleasable } from '../planner/release-proof.ts';
import type { ClaimRef, PodRef } from '../planner/types.ts';
import { statusOf, type KubeApi } from '../kube/api.ts';

export type GuardReads = Pick<KubeApi, 'getStatefulSet' | 'getPod' | 'getClaim'>;

/** The set, read afresh, no longer has the ordinal outside its range (or is another set now): the plan is stale. */
export class StaleCacheError extends Error {}

/** The release proof, read afresh from etcd, does not hold: the plan came from a cache older than the claim's last use. */
export class ReleaseRefusedError extends StaleCacheError {}

/** The object, or undefined when the API server answers 404. */
export async function orUndefinedIfGone<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/** One plan's releases: the set is read once, each drain pod once, each claim right before its delete. */
export class ReleaseGuard {
  private readonly api: GuardReads;
  private readonly set: V1StatefulSet;
  private fresh?: Promise<V1StatefulSet | undefined>;
  private readonly drainPods = new Map<string, Promise<V1Pod | undefined>>();

  constructor(api: GuardReads, set: V1StatefulSet) {
    this.api = api;
    this.set = set;
  }

  /**
   * The claim as etcd has it now, when `drainPod`'s success may release it: its resourceVersion preconditions
   * the delete. Undefined when the claim is gone or replaced (nothing to delete). Throws StaleCacheError when
   * the set was deleted, replaced or grew back over the ordinal, ReleaseRefusedError when the proof fails.
   */
  async confirm(ordinal: number, claimRef: ClaimRef, drainPod: PodRef): Promise<V1PersistentVolumeClaim | undefined> {
    const namespace = this.set.metadata?.namespace ?? '';
    const set = await (this.fresh ??= orUndefinedIfGone(this.api.getStatefulSet(namespace, this.set.metadata?.name ?? '')));
    if (!set || set.metadata?.uid !== this.set.metadata?.uid) {
      throw new StaleCacheError(`the StatefulSet was deleted or replaced before ordinal ${ordinal}'s claims were released; nothing released`);
    }
    if (inRange(set, ordinal)) {
      throw new StaleCacheError(`the StatefulSet grew back over ordinal ${ordinal} before its claims were released; nothing released, the claims stay with the replica`);
    }
    let podRead = this.drainPods.get(drainPod.name);
    if (!podRead) this.drainPods.set(drainPod.name, (podRead = orUndefinedIfGone(this.api.getPod(namespace, drainPod.name))));
    const [pod, claim] = await Promise.all([podRead, orUndefinedIfGone(this.api.getClaim(namespace, claimRef.name))]);
    if (!claim || claim.metadata?.uid !== claimRef.uid) return undefined;
    const why = whyNotReleasable(set, ordinal, drainPod.uid, pod, claim);
    if (why !== undefined) throw new ReleaseRefusedError(`claim ${claimRef.name} is not released: ${why}`);
    return claim;
  }
}
