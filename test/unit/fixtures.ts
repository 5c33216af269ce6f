// Hand-made objects for the pure planner tests.
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { buildDrainPod } from '../../src/planner/drain-pod.ts';
import { DRAIN_POD_ANNOTATION, TEMPLATE_ANNOTATION } from '../../src/planner/keys.ts';
import { drainPodRecord } from '../../src/planner/release-proof.ts';
import { parseDrainerTemplate } from '../../src/planner/template.ts';
import type { PlannerSettings, TemplateVerdict } from '../../src/planner/types.ts';

export const NOW = new Date('2026-01-01T12:00:00Z');

/**
 * A deep copy whose dates are this test's dates. Not structuredClone: under Jest's VM modules it builds dates of
 * Node's own realm, which fail `instanceof Date` here, so every copied pod would be left out of the plan as not
 * well-formed and the test would quietly plan nothing.
 */
export function copyOf<T>(value: T): T {
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (Array.isArray(value)) return value.map(copyOf) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, copyOf(field)])) as T;
  }
  return value;
}
/** The API server's verdict on the template, as most tests need it: already in, and accepted. */
export const ACCEPTED: TemplateVerdict = { state: 'accepted' };
export const settings: PlannerSettings = {
  maxAttempts: 3, backoffBaseMs: 10_000, backoffMaxMs: 300_000, pendingDeadlineMs: 600_000, runningDeadlineMs: 3_600_000,
  drainTimeoutMs: 0, drainDelayMs: 0, keepVolumeMs: 0, maxKeepVolumeMs: 2160 * 3_600_000,
};

export const drainTemplate = {
  metadata: { labels: { app: 'db-drain' } },
  spec: { containers: [{ name: 'drain', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] }] },
};

export interface SetShape {
  name?: string;
  replicas?: number;
  start?: number;
  policy?: 'OrderedReady' | 'Parallel';
  templates?: string[];
  template?: unknown;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deleting?: boolean;
  whenScaled?: 'Retain' | 'Delete';
}

export function aSet(shape: SetShape = {}): V1StatefulSet {
  const name = shape.name ?? 'db';
  const template = shape.template === undefined ? drainTemplate : shape.template;
  return {
    metadata: {
      name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: '7',
      annotations: {
        ...(template === null ? {} : { [TEMPLATE_ANNOTATION]: typeof template === 'string' ? template : JSON.stringify(template) }),
        ...shape.annotations,
      },
      finalizers: shape.finalizers,
      deletionTimestamp: shape.deleting ? new Date('2026-01-01T11:59:00Z') : undefined,
    },
    spec: {
      replicas: shape.replicas ?? 3,
      ordinals: shape.start === undefined ? undefined : { start: shape.start },
      podManagementPolicy: shape.policy ?? 'OrderedReady',
      serviceName: name,
      selector: { matchLabels: { app: name } },
      persistentVolumeClaimRetentionPolicy: shape.whenScaled ? { whenScaled: shape.whenScaled, whenDeleted: 'Retain' } : undefined,
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'app' }] } },
      volumeClaimTemplates: (shape.templates ?? ['data']).map((t) => ({ metadata: { name: t }, spec: {} })),
    },
  };
}

export function aClaim(set: V1StatefulSet, ordinal: number, options: { template?: string; uid?: string; labels?: Record<string, string>;
    deleting?: boolean; annotations?: Record<string, string> } = {}): V1PersistentVolumeClaim {
  const template = options.template ?? 'data';
  const name = `${template}-${set.metadata!.name}-${ordinal}`;
  return {
    metadata: {
      name, namespace: 'ns', uid: options.uid ?? `uid-${name}`,
      labels: options.labels ?? { ...set.spec!.selector.matchLabels },
      annotations: options.annotations,
      deletionTimestamp: options.deleting ? NOW : undefined,
    },
  };
}

export function aStatefulPod(set: V1StatefulSet, ordinal: number): V1Pod {
  return {
    metadata: {
      name: `${set.metadata!.name}-${ordinal}`, namespace: 'ns', uid: `uid-pod-${ordinal}`,
      labels: { ...set.spec!.selector.matchLabels },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: set.metadata!.name!,
        uid: set.metadata!.uid!, controller: true }],
    },
    status: { phase: 'Running' },
  };
}

export interface DrainPodShape {
  phase?: string;
  attempt?: number;
  created?: Date;
  started?: Date;
  retryToken?: string;
  /** Write the controller's record of this pod onto `claims` (what the executor does after creating it); default true. */
  record?: boolean;
}

/**
 * A drain pod as the controller builds it. By default the claims are marked with its UID, as the controller
 * marks them after the create; `record: false` gives the same pod without that proof (a look-alike).
 */
export function aDrainPod(set: V1StatefulSet, ordinal: number, claims: V1PersistentVolumeClaim[], options: DrainPodShape = {}): V1Pod {
  const parsed = parseDrainerTemplate(set);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  const byTemplate = new Map(claims.map((c) => [c.metadata!.name!.split(`-${set.metadata!.name}-`)[0]!, c]));
  const pod = buildDrainPod({ set, template: parsed.template, ordinal, claims: byTemplate, attempt: options.attempt ?? 1,
    retryToken: options.retryToken ?? '' });
  pod.metadata!.uid = `uid-drain-${ordinal}-${options.attempt ?? 1}`;
  pod.metadata!.creationTimestamp = options.created ?? new Date(NOW.getTime() - 60_000);
  pod.status = { phase: options.phase ?? 'Running', startTime: options.started };
  if (options.record ?? true) for (const claim of claims) recordDrainPod(claim, pod);
  return pod;
}

/** The executor's record of a drain pod on a claim: its UID and container digest; a bare UID names a pod not in the test. */
export function recordDrainPod(claim: V1PersistentVolumeClaim, pod: V1Pod | string): V1PersistentVolumeClaim {
  const record = typeof pod === 'string' ? { [DRAIN_POD_ANNOTATION]: pod } : drainPodRecord(pod);
  claim.metadata!.annotations = { ...claim.metadata!.annotations, ...record };
  return claim;
}
