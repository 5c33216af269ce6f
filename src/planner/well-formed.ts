// The shapes the planner relies on. Objects come from the API server, which enforces them; a pod or claim
// that does not have them anyway (a broken client, a future API) is left out of the plan instead of
// throwing in the middle of it, which would stop every reconcile of its set.
import type { V1ObjectMeta, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';

const isString = (v: unknown): v is string => typeof v === 'string';
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optional = (v: unknown, check: (v: unknown) => boolean) => v === undefined || check(v);
const stringMap = (v: unknown) => isRecord(v) && Object.values(v).every(isString);
const listOf = (check: (v: unknown) => boolean) => (v: unknown) => Array.isArray(v) && v.every(check);
const timestamp = (v: unknown) => isString(v) || v instanceof Date;

const ownerReference = (v: unknown) => isRecord(v) && isString(v.uid) && isString(v.kind) && optional(v.name, isString);

function wellFormedMeta(meta: unknown): meta is V1ObjectMeta {
  return isRecord(meta) && isString(meta.name) && optional(meta.namespace, isString) && optional(meta.uid, isString)
    && optional(meta.labels, stringMap) && optional(meta.annotations, stringMap) && optional(meta.ownerReferences, listOf(ownerReference))
    && optional(meta.deletionTimestamp, timestamp) && optional(meta.creationTimestamp, timestamp);
}

const volumeMount = (v: unknown) => isRecord(v) && isString(v.name) && optional(v.mountPath, isString);
const container = (v: unknown) => isRecord(v) && optional(v.name, isString) && optional(v.volumeMounts, listOf(volumeMount));
const volume = (v: unknown) => isRecord(v) && isString(v.name)
  && optional(v.persistentVolumeClaim, (c) => isRecord(c) && isString(c.claimName));

export function wellFormedClaim(claim: V1PersistentVolumeClaim): boolean {
  return isRecord(claim) && wellFormedMeta(claim.metadata);
}

export function wellFormedPod(pod: V1Pod): boolean {
  if (!isRecord(pod) || !wellFormedMeta(pod.metadata)) return false;
  const spec: unknown = pod.spec;
  const status: unknown = pod.status;
  return optional(spec, (s) => isRecord(s) && optional(s.volumes, listOf(volume)) && optional(s.containers, listOf(container))
    && optional(s.initContainers, listOf(container)) && optional(s.ephemeralContainers, listOf(container)))
    && optional(status, (s) => isRecord(s) && optional(s.phase, isString) && optional(s.startTime, timestamp));
}
