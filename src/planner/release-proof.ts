// The proof that a claim may be released: the one question every deletion of data turns on. The planner asks
// it of its cache; the executor asks it again of quorum reads right before the delete, because a cache can be
// older than the claim's last use (a pod watch gone silent, a scale-up and back).
import { createHash } from 'node:crypto';
import type { V1Container, V1EphemeralContainer, V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { drainPodClaims, mountedClaimNames } from './drain-pod.ts';
import { drainPodOrdinal, identifyClaim, isDrainPodOf } from './identity.ts';
import { DRAIN_POD_ANNOTATION, DRAIN_POD_CONTAINERS_ANNOTATION, DRAINED_ANNOTATION } from './keys.ts';
import { isPlaceholderOf } from './placeholder.ts';

type ContainerLike = V1Container | V1EphemeralContainer;

/** What a container runs: the fields a digest covers, and all that the informer cache keeps of a drain pod's containers. */
export function containerProvenance(c: ContainerLike): ContainerLike {
  return {
    name: c.name, image: c.image, command: c.command, args: c.args, workingDir: c.workingDir,
    volumeMounts: c.volumeMounts?.map((m) => ({ name: m.name, mountPath: m.mountPath, subPath: m.subPath, subPathExpr: m.subPathExpr,
      readOnly: m.readOnly })),
  };
}

/**
 * A digest of what the pod's containers run. A container's image is mutable in a running pod (and ephemeral
 * containers can be added), so a pod's success proves a drain only while this is what the controller created.
 */
export function containersDigest(pod: V1Pod): string {
  const spec = pod.spec;
  const of = (list: ContainerLike[] | undefined) => (list ?? []).map(containerProvenance);
  const text = JSON.stringify([of(spec?.initContainers), of(spec?.containers), of(spec?.ephemeralContainers)]);
  return createHash('sha256').update(text).digest('hex');
}

/** The record the executor writes on each claim of a drain pod it created, right after the create. */
export function drainPodRecord(pod: V1Pod): Record<string, string> {
  return { [DRAIN_POD_ANNOTATION]: pod.metadata?.uid ?? '', [DRAIN_POD_CONTAINERS_ANNOTATION]: containersDigest(pod) };
}

/** The claim records the pod's UID: the controller created this pod for this claim (whatever it runs now). */
export function recordsPodUid(claim: V1PersistentVolumeClaim, pod: V1Pod): boolean {
  const uid = pod.metadata?.uid;
  return uid !== undefined && uid !== '' && claim.metadata?.annotations?.[DRAIN_POD_ANNOTATION] === uid;
}

/** The claim records the pod's UID and the pod still runs the containers it was created with. */
export function recordsPod(claim: V1PersistentVolumeClaim, pod: V1Pod): boolean {
  // Stryker disable next-line OptionalChaining: recordsPodUid has just read both, so they exist here.
  return recordsPodUid(claim, pod) && claim.metadata?.annotations?.[DRAIN_POD_CONTAINERS_ANNOTATION] === containersDigest(pod);
}

/**
 * Why `pod`'s success cannot release `claim` for ordinal `ordinal` of `set`, or undefined when it can: the
 * claim is the set's at that ordinal and alive, the pod is a drain pod of the set for that ordinal in the
 * claim's namespace, the claim records the pod (UID and containers), and the pod lists the claim by name and
 * UID and really mounts it.
 */
export function whyNotBound(set: V1StatefulSet, ordinal: number, pod: V1Pod, claim: V1PersistentVolumeClaim): string | undefined {
  const claimName = claim.metadata?.name;
  const podName = pod.metadata?.name;
  if (claim.metadata?.deletionTimestamp !== undefined) return `claim ${claimName} is being deleted`;
  if (identifyClaim(set, claim)?.ordinal !== ordinal) return `claim ${claimName} is not the StatefulSet's claim of ordinal ${ordinal}`;
  // Stryker disable next-line OptionalChaining: identifyClaim found the claim in the set's namespace, so the set has metadata.
  if (pod.metadata?.namespace !== set.metadata?.namespace || !isDrainPodOf(pod, set) || drainPodOrdinal(pod, set) !== ordinal) {
    return `pod ${podName} is not a drain pod of ordinal ${ordinal}`;
  }
  if (!recordsPodUid(claim, pod)) return `claim ${claimName} does not record pod ${podName} as its drain pod`;
  if (!recordsPod(claim, pod)) return `the containers of drain pod ${podName} were changed after it was created`;
  // Stryker disable next-line OptionalChaining: identifyClaim matched the claim's name, so it has metadata.
  if (!drainPodClaims(pod).some((ref) => ref.uid === claim.metadata?.uid && ref.name === claimName))
    return `drain pod ${podName} does not list claim ${claimName}`;
  if (!mountedClaimNames(pod).has(claimName!)) return `drain pod ${podName} does not mount claim ${claimName}`;
  return undefined;
}

/**
 * The executor's last check before deleting a claim, on objects read from etcd just now (the claim has the
 * plan's UID; the executor does not delete one that is gone or replaced): `whyNotBound`, and the pod is the
 * very one the plan saw (same UID) and has Succeeded.
 */
export function whyNotReleasable(set: V1StatefulSet, ordinal: number, podUid: string, pod: V1Pod | undefined,
    claim: V1PersistentVolumeClaim): string | undefined {
  if (!pod || pod.metadata?.uid !== podUid) return 'its drain pod no longer exists';
  // Stryker disable next-line OptionalChaining: the line above read the pod's UID, so it has metadata.
  if (pod.status?.phase !== 'Succeeded') return `drain pod ${pod.metadata?.name} has not Succeeded (${pod.status?.phase ?? 'no phase'})`;
  return whyNotBound(set, ordinal, pod, claim);
}

/** The set's generation (the API server counts every change of its spec from 1; 0 for a set without one). */
export function generationOf(set: V1StatefulSet): number {
  return set.metadata?.generation ?? 0;
}

/** The record of a drain's success, written on each of its claims (after whyNotReleasable) before its pod is deleted. */
export function drainedRecord(podUid: string, generation: number): Record<string, string> {
  return { [DRAINED_ANNOTATION]: `${podUid}/${generation}` };
}

/** A claim's record of a successful drain: the drain pod's UID and the set's generation then. */
export function drainedBy(claim: V1PersistentVolumeClaim): { podUid: string; generation: number } | undefined {
  // Stryker disable next-line StringLiteral: an absent record reads as '', which the pattern never matches; so does any default without "/"
  const match = /^([^/]+)\/(0|[1-9][0-9]*)$/.exec(claim.metadata?.annotations?.[DRAINED_ANNOTATION] ?? '');
  return match ? { podUid: match[1]!, generation: Number(match[2]) } : undefined;
}

/**
 * Why a claim's drained record no longer allows its release, or undefined when it does: the claim is the set's
 * at that ordinal and alive, it records a drained pod that is also its recorded drain pod, and the set has not
 * changed since (same generation: no scale, so no replica has used the claim since the drain).
 */
export function whyNotDrained(set: V1StatefulSet, ordinal: number, claim: V1PersistentVolumeClaim): string | undefined {
  const claimName = claim.metadata?.name;
  if (claim.metadata?.deletionTimestamp !== undefined) return `claim ${claimName} is being deleted`;
  if (identifyClaim(set, claim)?.ordinal !== ordinal) return `claim ${claimName} is not the StatefulSet's claim of ordinal ${ordinal}`;
  const drained = drainedBy(claim);
  if (!drained) return `claim ${claimName} records no successful drain`;
  // Stryker disable next-line OptionalChaining: drainedBy read the claim's annotations, so they exist.
  if (drained.podUid !== claim.metadata?.annotations?.[DRAIN_POD_ANNOTATION])
    return `the drain recorded on claim ${claimName} is not its recorded drain pod`;
  if (drained.generation !== generationOf(set)) {
    return `the StatefulSet changed since the drain of claim ${claimName} succeeded (generation ${drained.generation}, ` +
      `now ${generationOf(set)})`;
  }
  return undefined;
}

/**
 * Why a drained claim cannot be deleted now, or undefined when it can: `whyNotDrained`, and this set's
 * placeholder (`placeholderUid`, as the plan saw it) holds the ordinal's name, so that no replica can start
 * on the claim while it is being deleted. The executor asks it of quorum reads right before the delete.
 */
export function whyNotDeletable(set: V1StatefulSet, ordinal: number, placeholderUid: string, placeholder: V1Pod | undefined,
  claim: V1PersistentVolumeClaim): string | undefined {
  const why = whyNotDrained(set, ordinal, claim);
  if (why !== undefined) return why;
  const meta = placeholder?.metadata;
  if (!meta || meta.uid !== placeholderUid || meta.deletionTimestamp !== undefined || !isPlaceholderOf(placeholder!, set, ordinal)) {
    return `no placeholder holds ordinal ${ordinal}'s name`;
  }
  return undefined;
}
