// What the informer caches keep of each object: only the fields the controller reads. Pods and claims
// dominate memory in large clusters (managedFields, specs and statuses are most of their size).
import type { V1ObjectMeta, V1PersistentVolumeClaim, V1Pod, V1PodSpec, V1StatefulSet } from '@kubernetes/client-node';
import { OWN_KEY_PREFIX, ROLE_LABEL, SET_ANNOTATION_PREFIX } from '../planner/keys.ts';
import { containerProvenance } from '../planner/release-proof.ts';


function pick(record: Record<string, string> | undefined, keep: (key: string) => boolean): Record<string, string> | undefined {
  if (!record) return undefined;
  const kept = Object.entries(record).filter(([k]) => keep(k));
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

// One copy of each namespace string, however many objects name it (JSON.parse makes a copy per object). A plain
// map, not the weak pool below: a WeakRef cannot hold a string, and a cluster has few namespaces.
const namespaces = new Map<string, string>();
function namespaceOf(m: V1ObjectMeta | undefined): string | undefined {
  const namespace = m?.namespace;
  if (namespace === undefined) return undefined;
  let shared = namespaces.get(namespace);
  if (shared === undefined) namespaces.set(namespace, (shared = namespace));
  return shared;
}

// Parts many objects have alike (a set's retention policy, finalizers, claim template names, the drainer
// template of sets made from one chart): one copy each, found by content. The pool holds them weakly, so a part
// no set uses any more leaves it; it is bounded in entries and key size, so that objects edited at will cannot
// grow it without end (past the bound, objects keep their own copies). A shared part is frozen: code that
// changed a cached object in place would change every set holding it, so it throws instead.
const SHARED_ENTRIES = 1000;
const SHARED_KEY_CHARS = 4096;
const sharedParts = new Map<string, WeakRef<object>>();
const forget = new FinalizationRegistry<string>((key) => {
  if (sharedParts.get(key)?.deref() === undefined) sharedParts.delete(key);
});
function shared<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  const key = JSON.stringify(value);
  if (key.length > SHARED_KEY_CHARS) return value;
  const found = sharedParts.get(key)?.deref();
  if (found !== undefined) return found as T;
  if (sharedParts.size >= SHARED_ENTRIES) return value;
  deepFreeze(value);
  sharedParts.set(key, new WeakRef(value));
  forget.register(value, key);
  return value;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const inner of Object.values(value)) deepFreeze(inner);
  return Object.freeze(value);
}

/** The set's name itself where a value repeats it (service name, selector labels): JSON.parse makes a copy of each. */
function nameFor<T>(value: T, name: string | undefined): T | string {
  return value === name && name !== undefined ? name : value;
}

// Only defined fields are set (each property costs memory per object), always in the same order, so the
// trimmed objects share V8 hidden classes instead of falling back to dictionaries.
// resourceVersion is kept only where a write needs it: the StatefulSet's finalizer patch, and every claim
// annotation write (conditional on the version the plan saw).
function meta(m: V1ObjectMeta | undefined, extra: Partial<V1ObjectMeta> = {}): V1ObjectMeta {
  const fields: Partial<V1ObjectMeta> = {
    name: m?.name, namespace: namespaceOf(m), uid: m?.uid, deletionTimestamp: m?.deletionTimestamp, ...extra,
  };
  return new TrimmedMeta(fields) as V1ObjectMeta;
}

/**
 * A class, not an object literal: V8 sizes its instances to the most properties any of them was given, so every
 * field is stored in the object itself; a literal holds 4 and moves the rest to a second array (about 40 bytes
 * more per claim).
 */
class TrimmedMeta {
  constructor(fields: Partial<V1ObjectMeta>) {
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) (this as Record<string, unknown>)[key] = value;
  }
}

function statefulSetOwners(m: V1ObjectMeta | undefined): V1ObjectMeta['ownerReferences'] {
  const owners = m?.ownerReferences?.filter((r) => r.kind === 'StatefulSet');
  return owners && owners.length > 0 ? owners : undefined;
}

export function trimPod(pod: V1Pod): V1Pod {
  const isDrainPod = pod.metadata?.labels?.[ROLE_LABEL] !== undefined;
  // Any other pod only holds its ordinal: its name, and its UID and phase (a drain pod of ours whose labels
  // were stripped is known by the UID on its claims, and replaced once it has finished).
  if (!isDrainPod) return { metadata: meta(pod.metadata), ...(pod.status?.phase ? { status: { phase: pod.status.phase } } : {}) };
  return {
    metadata: meta(pod.metadata, {
      creationTimestamp: pod.metadata?.creationTimestamp,
      labels: pick(pod.metadata?.labels, (k) => k.startsWith(OWN_KEY_PREFIX)),
      annotations: pick(pod.metadata?.annotations, (k) => k.startsWith(OWN_KEY_PREFIX)),
      ownerReferences: statefulSetOwners(pod.metadata),
    }),
    // What the containers run, for the release proof's digest (release-proof.ts).
    spec: {
      ...(pod.spec?.initContainers ? { initContainers: pod.spec.initContainers.map(containerProvenance) } : {}),
      containers: (pod.spec?.containers ?? []).map(containerProvenance),
      ...(pod.spec?.ephemeralContainers ? { ephemeralContainers: pod.spec.ephemeralContainers.map(containerProvenance) } : {}),
      volumes: pod.spec?.volumes?.filter((v) => v.persistentVolumeClaim)
        .map((v) => ({ name: v.name, persistentVolumeClaim: v.persistentVolumeClaim })),
    },
    status: { phase: pod.status?.phase, startTime: pod.status?.startTime },
  };
}

export function trimClaim(claim: V1PersistentVolumeClaim): V1PersistentVolumeClaim {
  return {
    metadata: meta(claim.metadata, {
      resourceVersion: claim.metadata?.resourceVersion,
      labels: claim.metadata?.labels,
      annotations: pick(claim.metadata?.annotations, (k) => k.startsWith(OWN_KEY_PREFIX)),
      ownerReferences: statefulSetOwners(claim.metadata),
    }),
  };
}

/** The replicas' scheduling constraints, or undefined when they have none (most sets: no object kept). */
function inheritable(spec: V1PodSpec): V1PodSpec | undefined {
  const kept: Partial<V1PodSpec> = {
    tolerations: spec.tolerations, nodeSelector: spec.nodeSelector, priorityClassName: spec.priorityClassName,
    imagePullSecrets: spec.imagePullSecrets,
    affinity: spec.affinity?.nodeAffinity ? { nodeAffinity: spec.affinity.nodeAffinity } : undefined,
  };
  const present = Object.entries(kept).filter(([, value]) => value !== undefined);
  return present.length > 0 ? ({ containers: [], ...Object.fromEntries(present) } as V1PodSpec) : undefined;
}

export function trimStatefulSet(set: V1StatefulSet): V1StatefulSet {
  const spec = set.spec;
  const name = set.metadata?.name;
  const matchLabels = spec?.selector?.matchLabels;
  if (matchLabels) for (const key of Object.keys(matchLabels)) matchLabels[key] = nameFor(matchLabels[key], name)!;
  return {
    metadata: meta(set.metadata, {
      resourceVersion: set.metadata?.resourceVersion,
      generation: set.metadata?.generation,
      finalizers: shared(set.metadata?.finalizers),
      annotations: shared(pick(set.metadata?.annotations, (k) => k.startsWith(SET_ANNOTATION_PREFIX) || k.startsWith(OWN_KEY_PREFIX))),
    }),
    spec: spec && {
      replicas: spec.replicas,
      ordinals: shared(spec.ordinals),
      podManagementPolicy: spec.podManagementPolicy,
      persistentVolumeClaimRetentionPolicy: shared(spec.persistentVolumeClaimRetentionPolicy),
      selector: spec.selector,
      serviceName: nameFor(spec.serviceName, name),
      // What drain pods inherit from the replicas' pod template (drain-pod.ts).
      template: shared({ metadata: {}, spec: spec.template?.spec && inheritable(spec.template.spec) }),
      volumeClaimTemplates: shared(spec.volumeClaimTemplates?.map((t) => ({ metadata: { name: t.metadata?.name } }))),
    },
  };
}
