// The executor's last word before a claim is deleted: the StatefulSet and the drain pod (or placeholder) read
// from etcd (quorum reads, never a cache), and the planner's release proof asked again of what they say now
// and of the claim as the plan saw it, whose write is conditional on that version. A plan comes from a cache
// that may be older than the claim's last use: a scale-up not seen yet, a pod watch gone silent after a drain
// pod was deleted and its replica came back.
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { claimName, claimTemplateNames, inRange } from '../planner/identity.ts';
import { drainedBy, whyNotDeletable, whyNotReleasable } from '../planner/release-proof.ts';
import type { ClaimAt, ClaimRef, ClaimSeen, PodRef } from '../planner/types.ts';
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

/** A claim write's preconditions: the claim the proof was asked of, at the version it was asked of. */
export interface Preconditions {
  name: string;
  uid: string;
  resourceVersion: string;
}

/** The preconditions of a write to `claim` when the proof held of it (`why` undefined); else ReleaseRefusedError. */
function preconditions(claim: V1PersistentVolumeClaim, why: string | undefined): Preconditions {
  const version = claim.metadata?.resourceVersion;
  // (The proof held, so the claim has its name and UID.) Without a version the write would be unconditional.
  if (why === undefined && version) return { name: claim.metadata!.name!, uid: claim.metadata!.uid!, resourceVersion: version };
  throw new ReleaseRefusedError(`claim ${claim.metadata?.name} is not released: ${why ?? 'the plan saw no resourceVersion of it'}`);
}

/**
 * One plan's releases: the set is read once (and again before each claim delete), each pod once; a claim the
 * release writes is not read, the write is conditional on the version the plan saw (ClaimSeen).
 */
export class ReleaseGuard {
  private readonly api: GuardReads;
  private readonly set: V1StatefulSet;
  private fresh?: Promise<V1StatefulSet | undefined>;
  private readonly pods = new Map<string, Promise<V1Pod | undefined>>();

  constructor(api: GuardReads, set: V1StatefulSet) {
    this.api = api;
    this.set = set;
  }

  /**
   * Before a drain pod is created: the set, as etcd has it, still has the ordinal outside its range (a cache
   * behind a scale-up, or a watch gone silent, would otherwise start a drain on a returning replica's claim).
   */
  async confirmOrphaned(ordinal: number): Promise<void> {
    await this.freshSet(ordinal);
  }

  /**
   * Before a drain pod is created for `claims`: each is, as etcd has it, the claim the plan saw (same UID and,
   * where the plan knew it, resourceVersion). A plan made on a claim cache behind this controller's own last
   * write (a drain's success just recorded) would otherwise start a drain that is withdrawn at once.
   */
  async confirmClaimsAsPlanned(claims: ClaimAt[]): Promise<void> {
    const read = await Promise.all(claims.map((ref) => this.claim(ref)));
    const changed = claims.filter((ref, i) => {
      const now = read[i];
      // (A claim read back has metadata: `claim` matched its UID.)
      return !now || (ref.resourceVersion !== undefined && now.metadata!.resourceVersion !== ref.resourceVersion);
    });
    if (changed.length > 0)
      throw new StaleCacheError(`claim(s) ${changed.map((c) => c.name).join(', ')} changed since the plan; no drain pod created`);
  }

  /**
   * The set as etcd has it (read once per plan; `again`: read now, for the last check before a claim delete);
   * throws StaleCacheError when it was deleted or replaced, or grew back over the ordinal.
   */
  private async freshSet(ordinal: number, again = false): Promise<V1StatefulSet> {
    const read = () => orUndefinedIfGone(this.api.getStatefulSet(this.namespace, this.set.metadata?.name ?? ''));
    const set = await (again ? (this.fresh = read()) : (this.fresh ??= read()));
    if (!set || set.metadata?.uid !== this.set.metadata?.uid) {
      throw new StaleCacheError(
        `the StatefulSet was deleted or replaced before ordinal ${ordinal}'s claims were released; nothing released`);
    }
    if (inRange(set, ordinal)) {
      throw new StaleCacheError(
        `the StatefulSet grew back over ordinal ${ordinal} before its claims were released; nothing released, they stay with the replica`);
    }
    return set;
  }

  private get namespace(): string {
    return this.set.metadata?.namespace ?? '';
  }

  /** A pod as etcd has it, read once per plan. */
  private pod(name: string): Promise<V1Pod | undefined> {
    let read = this.pods.get(name);
    if (!read) this.pods.set(name, (read = orUndefinedIfGone(this.api.getPod(this.namespace, name))));
    return read;
  }

  /** The claim as etcd has it now, or undefined when it is gone or replaced (another UID). */
  private async claim(ref: ClaimRef): Promise<V1PersistentVolumeClaim | undefined> {
    const claim = await orUndefinedIfGone(this.api.getClaim(this.namespace, ref.name));
    return claim?.metadata?.uid === ref.uid ? claim : undefined;
  }

  /**
   * Before `drainPod`'s success is recorded on `claim` (as the plan saw it): the release proof
   * (whyNotReleasable) holds of it and of the set and the pod as etcd has them. Resolves to the preconditions of
   * that write, or undefined when the proof fails on the plan's copy and etcd's claim is gone, replaced, or
   * records that success already (a copy behind this controller's own write; the pod may be gone since): there
   * is nothing to record. Throws StaleCacheError
   * when the set was deleted, replaced or grew back over the ordinal, ReleaseRefusedError when the proof fails.
   */
  async confirmDrained(ordinal: number, claim: ClaimSeen, drainPod: PodRef): Promise<Preconditions | undefined> {
    const set = await this.freshSet(ordinal);
    const pod = await this.pod(drainPod.name);
    const why = whyNotReleasable(set, ordinal, drainPod.uid, pod, claim.seen);
    // Read only when refused: a copy behind the recorded success, or a claim gone since, is the common benign
    // cause (nothing to record), not worth a warning.
    if (why !== undefined) {
      const now = await this.claim(claim);
      if (!now || drainedBy(now)?.podUid === drainPod.uid) return undefined;
    }
    return preconditions(claim.seen, why);
  }

  /**
   * Before `claim` (as the plan saw it) is deleted: it may be (whyNotDeletable: drained, the set unchanged since,
   * and `placeholder` holding the name) by the set and the placeholder as etcd has them. Resolves to the
   * delete's preconditions; throws as confirmDrained does.
   */
  async confirmDeletable(ordinal: number, claim: V1PersistentVolumeClaim, placeholder: PodRef): Promise<Preconditions> {
    const pod = await this.pod(placeholder.name);
    // The set last, and for each claim: the read closest to the delete decides whether the ordinal is still orphaned.
    const set = await this.freshSet(ordinal, true);
    return preconditions(claim, whyNotDeletable(set, ordinal, placeholder.uid, pod, claim));
  }

  /** Before a placeholder frees the name: no claim of the ordinal is being deleted (else StaleCacheError). */
  async confirmNameMayBeFreed(ordinal: number): Promise<void> {
    const setName = this.set.metadata?.name ?? '';
    const claims = await Promise.all(claimTemplateNames(this.set)
      .map((t) => orUndefinedIfGone(this.api.getClaim(this.namespace, claimName(t, setName, ordinal)))));
    const deleting =
      claims.filter((c): c is V1PersistentVolumeClaim & { metadata: object } => c?.metadata?.deletionTimestamp !== undefined);
    if (deleting.length > 0) {
      throw new StaleCacheError(`claim(s) ${deleting.map((c) => c.metadata.name).join(', ')} of ordinal ${ordinal} are still being ` +
        `deleted; the placeholder keeps the name`);
    }
  }
}
