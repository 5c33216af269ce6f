// The placeholder: a pod that holds the name `<set>-<ordinal>` while a drained ordinal's claims are deleted.
// A claim's deletion completes only once no scheduled pod lists it, so the drain pod must go first; were the
// name free then, the StatefulSet controller could start a returning replica on a claim already being deleted
// (its own check reads a cache: kubernetes #74374), and what the replica wrote would go with the claim. The
// placeholder has no volumes and names a scheduler that does not exist, so it is never scheduled, pulls no
// image and uses no resources; it is deleted once the claims are gone.
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { ordinalPodMetadata, ownedByOrOrphaned, podName } from './identity.ts';
import { ORDINAL_LABEL, ROLE_LABEL, ROLE_PLACEHOLDER, SET_LABEL } from './keys.ts';
import { CONTROLLER_NAME } from '../names.ts';

/** No scheduler has this name: the placeholder stays Pending, bound to no node. */
export const PLACEHOLDER_SCHEDULER = `${CONTROLLER_NAME}.placeholder.never-scheduled`;

/** The image a placeholder names when the set has no usable drainer template (it is never pulled). */
export const FALLBACK_PLACEHOLDER_IMAGE = 'registry.k8s.io/pause:3.10';

/** `image`: the drain image, which admission already accepted for this set (never pulled: the pod never runs). */
export function buildPlaceholder(set: V1StatefulSet, image: string, ordinal: number): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: ordinalPodMetadata(set, ordinal, ROLE_PLACEHOLDER),
    spec: {
      schedulerName: PLACEHOLDER_SCHEDULER,
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // What the restricted Pod Security level asks; no user or resources of its own, so that a namespace's
      // policies and LimitRange defaults apply as to any pod.
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        name: 'placeholder', image,
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      }],
    },
  };
}

/**
 * This set's placeholder for `ordinal`: our role, set and ordinal labels, its name, no claim among its volumes
 * (a webhook may add others), owned by the set (or orphaned).
 */
export function isPlaceholderOf(pod: V1Pod, set: V1StatefulSet, ordinal: number): boolean {
  const meta = pod.metadata;
  const setMeta = set.metadata;
  if (!meta?.labels || !setMeta?.name) return false;
  const { labels } = meta;
  return labels[ROLE_LABEL] === ROLE_PLACEHOLDER && labels[SET_LABEL] === setMeta.name && labels[ORDINAL_LABEL] === String(ordinal)
    && meta.name === podName(setMeta.name, ordinal) && meta.namespace === setMeta.namespace
    && !pod.spec?.volumes?.some((v) => v.persistentVolumeClaim || v.ephemeral) && ownedByOrOrphaned(meta, set);
}
