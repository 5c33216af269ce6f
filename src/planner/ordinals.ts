// Step one of planning: the set seen ordinal by ordinal. Which claims of the set each ordinal has, which pod
// holds its name, and whether a pod that looks like a drain pod is one this controller created for it.
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { drainPodClaims } from './drain-pod.ts';
import { drainPodOrdinal, identifyClaim, inRange, isDrainPodOf, ordinalOfName, spellsClaim } from './identity.ts';
import { ATTEMPT_ANNOTATION, ENDED_DRAIN_POD_ANNOTATION } from './keys.ts';
import { isPlaceholderOf } from './placeholder.ts';
import { recordsPod, recordsPodUid, whyNotBound } from './release-proof.ts';
import type { PodRef } from './types.ts';

export interface DrainPodView {
  pod: V1Pod;
  ref: PodRef;
  phase: string;
  attempt: number;
  terminating: boolean;
  /**
   * Created by this controller for this very ordinal: its name and ordinal label agree and a claim of the
   * ordinal records its UID and the containers it was created with. Only a proven pod's outcome counts; a
   * look-alike, or our own pod whose containers were changed since, releases and records nothing.
   */
  proven: boolean;
  /** Our own pod (a claim records its UID), but its containers are no longer the ones it was created with. */
  modified: boolean;
  /** Live claims of its ordinal whose record names this pod: cleared when its drain ends without a release. */
  recordedOn: V1PersistentVolumeClaim[];
  /** The controller ended this pod's drain without a release (a claim keeps its UID as ended); a cache may still show it. */
  ended: boolean;
  /**
   * The claims this pod may release: live claims of its own ordinal that record its UID, that it lists by
   * UID and that it really mounts. Empty for a pod that is not proven.
   */
  releasableClaims: V1PersistentVolumeClaim[];
  /** Claims the pod lists (names), for reporting. */
  listedClaims: string[];
}

export interface OrdinalView {
  ordinal: number;
  inRange: boolean;
  /** Live claims proven to belong to the set at this ordinal, by claim template. */
  claims: Map<string, V1PersistentVolumeClaim>;
  /** A pod holding the name `<set>-<ordinal>` that does not look like a drain pod: the stateful pod or a stranger. */
  holder?: V1Pod;
  /** A pod with this set's drain pod labels and owner reference, proven or not. */
  drainPod?: DrainPodView;
  /** This set's placeholder, holding the name while the ordinal's drained claims are deleted (placeholder.ts). */
  placeholder?: V1Pod;
  /** Claims of the set at this ordinal that are being deleted (a release the API server has not finished). */
  deletingClaims: V1PersistentVolumeClaim[];
}

export interface SetView {
  /** Every ordinal that has a claim of the set or a pod holding its name, highest first. */
  ordinals: OrdinalView[];
  /** Claims of this set whose names another set of the namespace spells too: neither may touch them. */
  contested: Array<{ claim: V1PersistentVolumeClaim; rival: string }>;
}

export function observeOrdinals(set: V1StatefulSet, claims: V1PersistentVolumeClaim[], pods: V1Pod[],
    rivals?: V1StatefulSet[]): SetView {
  const contested: SetView['contested'] = [];
  const views = new Map<number, OrdinalView>();
  const view = (ordinal: number) => {
    let v = views.get(ordinal);
    if (!v) views.set(ordinal, (v = { ordinal, inRange: inRange(set, ordinal), claims: new Map(), deletingClaims: [] }));
    return v;
  };

  for (const claim of claims) {
    const id = identifyClaim(set, claim);
    if (!id) continue;
    // By name alone: labels tell two sets apart only while both keep the labels their claims were made with.
    const rival = rivals?.find((other) => spellsClaim(other, claim) !== undefined);
    if (rival) {
      contested.push({ claim, rival: rival.metadata?.name ?? '' });
      continue;
    }
    // Claims being deleted are never drained again.
    if (claim.metadata?.deletionTimestamp === undefined) view(id.ordinal).claims.set(id.template, claim);
    else view(id.ordinal).deletingClaims.push(claim);
  }

  const podsByOrdinal = new Map<number, V1Pod>();
  for (const pod of pods) {
    if (pod.metadata?.namespace !== set.metadata?.namespace) continue;
    const ordinal = ordinalOfName(pod.metadata?.name ?? '', set.metadata?.name ?? '');
    if (ordinal !== undefined) podsByOrdinal.set(ordinal, pod);
  }
  for (const [ordinal, pod] of podsByOrdinal) {
    const v = view(ordinal);
    if (isPlaceholderOf(pod, set, ordinal)) v.placeholder = pod;
    else if (isDrainPodOf(pod, set)) v.drainPod = drainPodView(pod, set, ordinal, [...v.claims.values(), ...v.deletingClaims]);
    else v.holder = pod;
  }
  return { ordinals: [...views.values()].sort((a, b) => b.ordinal - a.ordinal), contested };
}

function drainPodView(pod: V1Pod, set: V1StatefulSet, ordinal: number, claimsOfOrdinal: V1PersistentVolumeClaim[]): DrainPodView {
  const uid = pod.metadata?.uid ?? '';
  const listed = drainPodClaims(pod);
  const ours = drainPodOrdinal(pod, set) === ordinal;
  const recordedOn = claimsOfOrdinal.filter((claim) => claim.metadata?.deletionTimestamp === undefined && recordsPodUid(claim, pod));
  const proven = ours && claimsOfOrdinal.some((c) => recordsPod(c, pod));
  const releasableClaims = proven ? claimsOfOrdinal.filter((c) => whyNotBound(set, ordinal, pod, c) === undefined) : [];
  return {
    pod,
    ref: { name: pod.metadata?.name ?? '', uid },
    phase: pod.status?.phase ?? 'Pending',
    // Stryker disable next-line StringLiteral: another fallback parses to NaN, which `|| 1` makes 1 as well.
    attempt: Number.parseInt(pod.metadata?.annotations?.[ATTEMPT_ANNOTATION] ?? '1', 10) || 1,
    terminating: pod.metadata?.deletionTimestamp !== undefined,
    proven,
    modified: ours && !proven && recordedOn.length > 0,
    ended: uid !== '' && claimsOfOrdinal.some((claim) => claim.metadata?.annotations?.[ENDED_DRAIN_POD_ANNOTATION] === uid),
    recordedOn,
    releasableClaims,
    listedClaims: listed.map((c) => c.name),
  };
}
