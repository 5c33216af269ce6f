// Building a drain pod from the template: pure, so the exact object can be asserted in unit tests.
import type { V1Container, V1PersistentVolumeClaim, V1Pod, V1StatefulSet, V1Volume } from '@kubernetes/client-node';
import type { DrainerTemplate } from './template.ts';
import { claimTemplateNames, podName } from './identity.ts';
import {
  ATTEMPT_ANNOTATION, CLAIMS_ANNOTATION, ORDINAL_LABEL, RETRY_TOKEN_ANNOTATION, ROLE_DRAINER, ROLE_LABEL, SET_LABEL,
} from './keys.ts';
import type { ClaimRef } from './types.ts';

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

/** Reads back the claims a drain pod was created for (the only claims its success may release). */
export function drainPodClaims(pod: V1Pod): ClaimRef[] {
  const text = pod.metadata?.annotations?.[CLAIMS_ANNOTATION];
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((c): c is ClaimRef => typeof c?.name === 'string' && typeof c?.uid === 'string' && c.uid !== '');
  } catch {
    return [];
  }
}

/** Claim names the pod really mounts: a claim listed in the annotation but not mounted was never drained by it. */
export function mountedClaimNames(pod: V1Pod): Set<string> {
  return new Set((pod.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : [])));
}

export function buildDrainPod(input: DrainPodInput): V1Pod {
  const { set, template, ordinal, claims } = input;
  const setName = set.metadata?.name ?? '';
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
      name: podName(setName, ordinal),
      namespace: set.metadata?.namespace,
      labels: { ...template.labels, [ROLE_LABEL]: ROLE_DRAINER, [SET_LABEL]: setName, [ORDINAL_LABEL]: String(ordinal) },
      annotations: {
        ...template.annotations,
        [CLAIMS_ANNOTATION]: JSON.stringify([...claims.values()].map(claimRef)),
        [ATTEMPT_ANNOTATION]: String(input.attempt),
        [RETRY_TOKEN_ANNOTATION]: input.retryToken,
      },
      ownerReferences: [{
        apiVersion: 'apps/v1', kind: 'StatefulSet', name: setName, uid: set.metadata?.uid ?? '',
        controller: false, blockOwnerDeletion: false,
      }],
    },
    spec: {
      ...template.spec,
      restartPolicy: template.spec.restartPolicy ?? 'OnFailure',
      containers: template.spec.containers.map(dropMissingMounts),
      initContainers: template.spec.initContainers?.map(dropMissingMounts),
      volumes: [...(template.spec.volumes ?? []).filter((v) => !templates.has(v.name)), ...claimVolumes],
    },
  };
}
