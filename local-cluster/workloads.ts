// StatefulSets and drainer templates for end-to-end tests, using the kwok drain-sim annotations.
import type { V1Container, V1PodSpec, V1StatefulSet } from '@kubernetes/client-node';
import { ATTEMPT_ANNOTATION, CLAIMS_ANNOTATION, ORDINAL_LABEL, ROLE_DRAINER, ROLE_LABEL, SET_LABEL,
  TEMPLATE_ANNOTATION } from '../src/planner/keys.ts';
import type { ClusterClient } from './cluster-client.ts';
import { eventually, readyReplicas } from './cluster-client.ts';

export { TEMPLATE_ANNOTATION } from '../src/planner/keys.ts';

/** A drain pod template whose pod completes `after` it starts, in `phase`. */
export function simulatedDrain(options: { after?: string; phase?: 'Succeeded' | 'Failed'; restartPolicy?: string; claims?: string[];
    extra?: Record<string, unknown> } = {}) {
  return {
    metadata: {
      labels: { role: 'drain' },
      annotations: { 'drain-sim/complete-after': options.after ?? '2s',
        ...(options.phase ? { 'drain-sim/complete-phase': options.phase } : {}) },
    },
    spec: {
      ...(options.restartPolicy ? { restartPolicy: options.restartPolicy } : {}),
      containers: [{ name: 'drain', image: 'busybox',
        volumeMounts: (options.claims ?? ['data']).map((name) => ({ name, mountPath: `/${name}` })) }],
      ...options.extra,
    },
  };
}

export interface SetSpec {
  name: string;
  replicas: number;
  policy?: 'OrderedReady' | 'Parallel';
  start?: number;
  claims?: string[];
  /** An object is serialised to JSON; a string is used as is; null leaves the annotation out. */
  template?: unknown;
  annotations?: Record<string, string>;
  whenScaled?: 'Retain' | 'Delete';
  storageClass?: string;
  /** Fields of the replicas' container to set (kwok runs nothing, so the default is a bare busybox; a real node needs a command). */
  app?: Partial<V1Container>;
  /** Fields of the replicas' pod spec to set (scheduling constraints, for example). */
  podSpec?: Partial<V1PodSpec>;
}

/** A replica that writes its shard (`shard <pod name>`) into each claim and runs until told to stop. */
export const SHARD_WRITER: Partial<V1Container> = {
  image: 'busybox:1.37',
  command: ['sh', '-c',
    'for d in /claims/*; do echo "shard $(hostname)" > "$d/shard.txt"; done; trap "exit 0" TERM; sleep infinity & wait'],
};

export function statefulSet(spec: SetSpec): V1StatefulSet {
  const template = spec.template === undefined ? simulatedDrain({ claims: spec.claims }) : spec.template;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      name: spec.name,
      annotations: {
        ...(template === null ? {} : { [TEMPLATE_ANNOTATION]: typeof template === 'string' ? template : JSON.stringify(template) }),
        ...spec.annotations,
      },
    },
    spec: {
      replicas: spec.replicas,
      serviceName: spec.name,
      podManagementPolicy: spec.policy ?? 'OrderedReady',
      ordinals: spec.start === undefined ? undefined : { start: spec.start },
      persistentVolumeClaimRetentionPolicy: spec.whenScaled ? { whenScaled: spec.whenScaled, whenDeleted: 'Retain' } : undefined,
      selector: { matchLabels: { app: spec.name } },
      template: {
        metadata: { labels: { app: spec.name } },
        // The default grace period, not 0: with 0 the API server removes the pod at once and kwok's late
        // delete by name (a real kubelet deletes with a UID precondition) can hit the drain pod that
        // took the name in between.
        spec: {
          ...spec.podSpec,
          containers: [{
            name: 'app', image: 'busybox', ...spec.app,
            volumeMounts: spec.app ? (spec.claims ?? ['data']).map((name) => ({ name, mountPath: `/claims/${name}` })) : undefined,
          }],
        },
      },
      volumeClaimTemplates: (spec.claims ?? ['data']).map((name) => ({
        metadata: { name },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: spec.storageClass },
      })),
    },
  };
}

/** Creates the set and waits until all its replicas are Ready. */
export async function createReadySet(c: ClusterClient, namespace: string, spec: SetSpec): Promise<V1StatefulSet> {
  const created = await c.apps.createNamespacedStatefulSet({ namespace, body: statefulSet(spec) });
  await eventually(`${spec.name} ready`, async () => (await readyReplicas(c, namespace, spec.name)) === spec.replicas, 90_000);
  return created;
}

/** Scales with the real kubectl, as a user would. */
export async function scale(c: ClusterClient, namespace: string, name: string, replicas: number): Promise<void> {
  await c.kubectl(['-n', namespace, 'scale', 'statefulset', name, `--replicas=${replicas}`]);
}

export async function annotateSet(c: ClusterClient, namespace: string, name: string,
    annotations: Record<string, string | null>): Promise<void> {
  const args = Object.entries(annotations).map(([k, v]) => (v === null ? `${k}-` : `${k}=${v}`));
  await c.kubectl(['-n', namespace, 'annotate', '--overwrite', 'statefulset', name, ...args]);
}

/**
 * A pod anyone allowed to create pods could make: the drain pod labels, a (non-controller) owner reference to
 * the set, a claims annotation listing `claim` by name and UID, and `claim` mounted. It completes as
 * Succeeded a second after it starts.
 */
export async function createLookAlikeDrainPod(c: ClusterClient, namespace: string, setName: string, ordinal: number,
    claimName: string): Promise<void> {
  const set = await c.apps.readNamespacedStatefulSet({ namespace, name: setName });
  const claim = await c.core.readNamespacedPersistentVolumeClaim({ namespace, name: claimName });
  await c.core.createNamespacedPod({
    namespace,
    body: {
      metadata: {
        name: `${setName}-${ordinal}`,
        labels: { [ROLE_LABEL]: ROLE_DRAINER, [SET_LABEL]: setName, [ORDINAL_LABEL]: String(ordinal) },
        annotations: {
          [CLAIMS_ANNOTATION]: JSON.stringify([{ name: claimName, uid: claim.metadata!.uid }]),
          [ATTEMPT_ANNOTATION]: '1',
          'drain-sim/complete-after': '1s',
        },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: setName, uid: set.metadata!.uid!, controller: false }],
      },
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'drain', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
      },
    },
  });
}
