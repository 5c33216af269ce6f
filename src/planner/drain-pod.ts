// Building a drain pod from the template: pure, so the exact object can be asserted in unit tests.
import type { V1Container, V1PersistentVolumeClaim, V1Pod, V1PodSpec, V1StatefulSet, V1Volume } from '@kubernetes/client-node';
import type { DrainerTemplate } from './template.ts';
import { claimTemplateNames, ordinalPodMetadata } from './identity.ts';
import { ATTEMPT_ANNOTATION, CLAIMS_ANNOTATION, INHERIT_SCHEDULING_ANNOTATION, RETRY_TOKEN_ANNOTATION, ROLE_DRAINER } from './keys.ts';
import type { ClaimAt, ClaimRef, ClaimSeen } from './types.ts';

export interface DrainPodInput {
  set: V1StatefulSet;
  template: DrainerTemplate;
  ordinal: number;
  /** The ordinal's live claims, by claim template name. Templates without a claim are not mounted. */
  claims: Map<string, V1PersistentVolumeClaim>;
  attempt: number;
  retryToken: string;
}

export function claimRef(claim: V1PersistentVolumeClaim): ClaimRef {
  return { name: claim.metadata?.name ?? '', uid: claim.metadata?.uid ?? '' };
}

/** The claim and the version the plan decided on (see ClaimAt). */
export function claimAt(claim: V1PersistentVolumeClaim): ClaimAt {
  const version = claim.metadata?.resourceVersion;
  return { ...claimRef(claim), ...(version ? { resourceVersion: version } : {}) };
}

/** The claim as the plan saw it, for a release's write (see ClaimSeen). */
export function claimSeen(claim: V1PersistentVolumeClaim): ClaimSeen {
  return { ...claimRef(claim), seen: claim };
}

/** Reads back the claims a drain pod was created for (the only claims its success may release). */
export function drainPodClaims(pod: V1Pod): ClaimRef[] {
  const text = pod.metadata?.annotations?.[CLAIMS_ANNOTATION];
  // Stryker disable next-line ConditionalExpression: equivalent, JSON.parse of nothing throws and answers [] below as well.
  if (!text) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: no list, refused below like any other value that is not one.
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.filter((c): c is ClaimRef => typeof c?.name === 'string' && typeof c.uid === 'string' && c.uid !== '');
}

/** Claim names the pod really mounts: a claim listed in the annotation but not mounted was never drained by it. */
export function mountedClaimNames(pod: V1Pod): Set<string> {
  return new Set(pod.spec?.volumes?.flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : [])));
}

/**
 * Where the set's pods may run, so a drain pod can run there too (dedicated, tainted or labelled nodes;
 * local volumes): tolerations, nodeSelector, node affinity, priority class and image pull secrets, each
 * only where the template sets none. Never pod (anti-)affinity or topology spread: those are about the
 * replicas' placement relative to each other, and anti-affinity would keep the drain pod off the node of
 * its own volume. The annotation `drainer-inherit-scheduling: "false"` turns this off.
 */
function inheritedScheduling(set: V1StatefulSet, template: DrainerTemplate): Partial<V1PodSpec> {
  // Stryker disable next-line OptionalChaining: equivalent, a set with a drainer template has annotations.
  if (set.metadata?.annotations?.[INHERIT_SCHEDULING_ANNOTATION] === 'false') return {};
  // The cache drops the template's spec when nothing in it is inheritable. (A set the API serves always has a spec
  // and a pod template: the chains before `.spec` only keep an odd object from throwing.)
  // Stryker disable next-line OptionalChaining: equivalent for every set the API serves (above).
  const from = set.spec?.template?.spec;
  const own = template.spec;
  const nodeAffinity = from?.affinity?.nodeAffinity;
  return {
    ...(own.tolerations === undefined && from?.tolerations ? { tolerations: from.tolerations } : {}),
    ...(own.nodeSelector === undefined && from?.nodeSelector ? { nodeSelector: from.nodeSelector } : {}),
    ...(own.affinity?.nodeAffinity === undefined && nodeAffinity ? { affinity: { ...own.affinity, nodeAffinity } } : {}),
    ...(own.priorityClassName === undefined && from?.priorityClassName ? { priorityClassName: from.priorityClassName } : {}),
    ...(own.imagePullSecrets === undefined && from?.imagePullSecrets ? { imagePullSecrets: from.imagePullSecrets } : {}),
  };
}

export function buildDrainPod(input: DrainPodInput): V1Pod {
  const { set, template, ordinal, claims } = input;
  const templates = new Set(claimTemplateNames(set));
  const missing = new Set([...templates].filter((t) => !claims.has(t)));
  const claimVolumes: V1Volume[] = [...claims].map(([name, claim]) => ({
    name,
    persistentVolumeClaim: { claimName: claim.metadata?.name ?? '' },
  }));
  const dropMissingMounts = (c: V1Container): V1Container => ({
    ...c,
    volumeMounts: c.volumeMounts?.filter((m) => !missing.has(m.name)),
  });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...ordinalPodMetadata(set, ordinal, ROLE_DRAINER, template.labels),
      annotations: {
        ...template.annotations,
        [CLAIMS_ANNOTATION]: JSON.stringify([...claims.values()].map(claimRef)),
        [ATTEMPT_ANNOTATION]: String(input.attempt),
        [RETRY_TOKEN_ANNOTATION]: input.retryToken,
      },
    },
    spec: {
      ...template.spec,
      ...inheritedScheduling(set, template),
      restartPolicy: template.spec.restartPolicy ?? 'OnFailure',
      containers: template.spec.containers.map(dropMissingMounts),
      initContainers: template.spec.initContainers?.map(dropMissingMounts),
      volumes: [...(template.spec.volumes ?? []).filter((v) => !templates.has(v.name)), ...claimVolumes],
    },
  };
}
