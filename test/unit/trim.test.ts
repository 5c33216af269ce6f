// What the informer caches keep: every field a plan reads or a write is conditional on must survive trimming.
import { trimClaim, trimPod, trimStatefulSet } from '../../src/controller/trim.ts';
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { planSet } from '../../src/planner/plan.ts';
import { parseDrainerTemplate } from '../../src/planner/template.ts';
import { claimAt } from '../../src/planner/drain-pod.ts';
import * as keys from '../../src/planner/keys.ts';
import { buildPlaceholder } from '../../src/planner/placeholder.ts';
import { drainedRecord, whyNotDeletable, whyNotReleasable } from '../../src/planner/release-proof.ts';
import { ACCEPTED, aClaim, aDrainPod, aSet, aStatefulPod, copyOf, NOW, recordDrainPod, settings, type DrainPodShape } from './fixtures.ts';

const set = aSet({ replicas: 2 });

describe('trimming the caches', () => {
  it('a claim keeps its resourceVersion: every annotation write is conditional on the version the plan saw', () => {
    const claim = aClaim(set, 2);
    claim.metadata!.resourceVersion = '42';
    expect(claimAt(trimClaim(claim))).toEqual({ name: 'data-db-2', uid: claim.metadata!.uid, resourceVersion: '42' });
  });

  it('a pod without the drain labels keeps its UID and phase (a relabelled drain pod is known by the UID on its claims)', () => {
    const stripped = aDrainPod(set, 2, [aClaim(set, 2)], { phase: 'Succeeded' });
    stripped.metadata!.labels = {};
    expect(trimPod(stripped))
      .toEqual({ metadata: { name: 'db-2', namespace: 'ns', uid: stripped.metadata!.uid }, status: { phase: 'Succeeded' } });
    const replica = aStatefulPod(set, 0);
    expect(trimPod(replica).metadata)
      .toEqual({ name: 'db-0', namespace: 'ns', ...(replica.metadata!.uid ? { uid: replica.metadata!.uid } : {}) });
  });
});

describe('the release proof reads nothing a trimmed claim lacks', () => {
  // The executor asks the proof of the cache's copy of a claim and makes the write conditional on its
  // resourceVersion (release-guard.ts): the copy must answer as the whole claim would.
  const drainSet = aSet({ replicas: 2 });
  drainSet.metadata!.generation = 3;
  const whole = (change: (c: V1PersistentVolumeClaim) => void = () => {}): V1PersistentVolumeClaim => {
    const claim = aClaim(drainSet, 2, { annotations: { 'other.example/note': 'kept elsewhere' } });
    Object.assign(claim.metadata!, {
      resourceVersion: '77', creationTimestamp: new Date(0), finalizers: ['kubernetes.io/pvc-protection'],
      managedFields: [{ manager: 'kube-controller-manager', operation: 'Update' }],
      ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'unrelated', uid: 'cm' }],
    });
    claim.spec = { accessModes: ['ReadWriteOnce'], volumeName: 'pv-1', resources: { requests: { storage: '1Gi' } } };
    claim.status = { phase: 'Bound' };
    change(claim);
    return claim;
  };
  const pod = aDrainPod(drainSet, 2, [whole()], { phase: 'Succeeded' });
  const recorded = (c: V1PersistentVolumeClaim) => recordDrainPod(c, pod);
  const placeholder = buildPlaceholder(drainSet, 'drainer', 2);
  placeholder.metadata!.uid = 'h';
  const variants: Array<[string, (c: V1PersistentVolumeClaim) => void]> = [
    ['recorded and drained', (c) => { recorded(c); Object.assign(c.metadata!.annotations!, drainedRecord(pod.metadata!.uid!, 3)); }],
    ['recorded, not drained', (c) => { recorded(c); }],
    ['not recorded', () => {}],
    ['being deleted', (c) => { recorded(c); c.metadata!.deletionTimestamp = new Date(0); }],
    ['owned by another StatefulSet', (c) => { recorded(c); c.metadata!.ownerReferences!.push({ apiVersion: 'apps/v1', kind: 'StatefulSet',
      name: 'other', uid: 'other' }); }],
    ['without the selector labels', (c) => { recorded(c); c.metadata!.labels = { other: 'label' }; }],
    ['drained by another generation',
      (c) => { recorded(c); Object.assign(c.metadata!.annotations!, drainedRecord(pod.metadata!.uid!, 2)); }],
  ];

  it.each(variants)('%s: the same answer from the trimmed copy', (_name, change) => {
    const claim = whole(change);
    expect(whyNotReleasable(drainSet, 2, pod.metadata!.uid!, pod, trimClaim(claim)))
      .toBe(whyNotReleasable(drainSet, 2, pod.metadata!.uid!, pod, claim));
    expect(whyNotDeletable(drainSet, 2, 'h', placeholder, trimClaim(claim))).toBe(whyNotDeletable(drainSet, 2, 'h', placeholder, claim));
  });

  it('the variants reach both answers of each proof', () => {
    const answers = variants.map(([, change]) => whole(change)).map((c) => [whyNotReleasable(drainSet, 2, pod.metadata!.uid!, pod, c)
      === undefined, whyNotDeletable(drainSet, 2, 'h', placeholder, c) === undefined]);
    expect(new Set(answers.map((a) => a[0]))).toEqual(new Set([true, false]));
    expect(new Set(answers.map((a) => a[1]))).toEqual(new Set([true, false]));
  });
});

describe('trimming keeps every key of the controller', () => {
  // Every label and annotation key the planner reads or the executor writes, as keys.ts spells them.
  // (Derived from keys.ts, not spelled here: the set's own annotations, the StatefulSet controller's label and
  // the finalizer are not keys of claims or pods.)
  const ours = (Object.values(keys) as unknown[]).filter((v): v is string => typeof v === 'string' &&
    v.includes('/') && v !== keys.FINALIZER
    && !v.startsWith('statefulsets.kubernetes.io/') && v !== keys.STATEFUL_POD_LABEL);
  const all = Object.fromEntries(ours.map((k) => [k, 'x']));

  it('on claims (renaming the prefix in keys.ts alone must not make the cache drop a record)', () => {
    expect(ours.length).toBeGreaterThan(10);
    const claim = aClaim(set, 2, { annotations: { ...all, 'other.example/key': 'y' } });
    expect(Object.keys(trimClaim(claim).metadata!.annotations!).sort()).toEqual([...ours].sort());
  });

  it('on drain pods and placeholders', () => {
    const pod = aDrainPod(set, 2, [aClaim(set, 2)]);
    pod.metadata!.labels = { ...all, 'other.example/key': 'y' };
    pod.metadata!.annotations = { ...all, 'other.example/key': 'y' };
    const trimmed = trimPod(pod);
    expect(Object.keys(trimmed.metadata!.labels!).sort()).toEqual([...ours].sort());
    expect(Object.keys(trimmed.metadata!.annotations!).sort()).toEqual([...ours].sort());
  });
});

describe('a plan from what the cache keeps is the plan from the whole objects', () => {
  // The controller plans from trimmed copies (and from the index's slots, cache-index.test.ts): every field
  // a plan reads of a drain pod, a replica or a set must survive trimming.
  const scaledDown = aSet({ replicas: 2 });
  scaledDown.metadata!.generation = 4;
  const whole = (ordinal: number, shape: DrainPodShape, change: (pod: V1Pod) => void = () => {}) => {
    const claims = [aClaim(scaledDown, ordinal)];
    claims[0]!.metadata!.resourceVersion = '9';
    const pod = aDrainPod(scaledDown, ordinal, claims, shape);
    change(pod);
    return { claims, pods: [pod] };
  };
  const variants: Array<[string, { claims: V1PersistentVolumeClaim[]; pods: V1Pod[] }]> = [
    ['Succeeded: recorded as drained', whole(2, { phase: 'Succeeded' })],
    ['Running past its timeout (from its start time)', whole(2, { phase: 'Running', started: new Date(NOW.getTime() - 30 * 3600_000) })],
    ['Running, started a moment ago', whole(2, { phase: 'Running', started: new Date(NOW.getTime() - 1000) })],
    ['Pending, created long ago', whole(2, { phase: 'Pending', created: new Date(NOW.getTime() - 30 * 3600_000) })],
    ['Failed on its second attempt', whole(2, { phase: 'Failed', attempt: 2 })],
    ['Succeeded with another container than recorded', whole(2, { phase: 'Succeeded' }, (pod) => {
      pod.spec!.containers[0]!.image = 'other:1';
    })],
    ['Succeeded with an init container added', whole(2, { phase: 'Succeeded' }, (pod) => {
      pod.spec!.initContainers = [{ name: 'init', image: 'busybox' }];
    })],
    ['Succeeded with an ephemeral container added', whole(2, { phase: 'Succeeded' }, (pod) => {
      pod.spec!.ephemeralContainers = [{ name: 'debug', image: 'busybox' }];
    })],
    ['Succeeded with its claim volume pointed elsewhere', whole(2, { phase: 'Succeeded' }, (pod) => {
      pod.spec!.volumes = pod.spec!.volumes!.map((v) => (v.persistentVolumeClaim
        ? { ...v, persistentVolumeClaim: { claimName: 'x' } } : v));
    })],
    ['Succeeded, relabelled by someone', whole(2, { phase: 'Succeeded' }, (pod) => {
      pod.metadata!.labels = { [keys.SET_LABEL]: 'db' };
    })],
    ['owned by another StatefulSet', whole(2, { phase: 'Succeeded' }, (pod) => {
      pod.metadata!.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'other', uid: 'other' }];
    })],
    ['a replica still on the claim', { claims: [aClaim(scaledDown, 2)], pods: [aStatefulPod(scaledDown, 2)] }],
  ];
  const planOf = (set: V1StatefulSet, claims: V1PersistentVolumeClaim[], pods: V1Pod[]) => JSON.parse(JSON.stringify(planSet({
    set, now: NOW, templateVerdict: ACCEPTED, claims, pods, template: parseDrainerTemplate(set),
  }, settings))) as unknown;

  it.each(variants)('%s', (_name, { claims, pods }) => {
    expect(planOf(trimStatefulSet(copyOf(scaledDown)), claims.map((c) => trimClaim(copyOf(c))), pods.map((p) => trimPod(copyOf(p)))))
      .toEqual(planOf(scaledDown, claims, pods));
  });

  it('the variants lead to different plans', () => {
    const kinds = variants.map(([, { claims, pods }]) => JSON.stringify(
      (planOf(scaledDown, claims, pods) as { actions: Array<{ kind: string; reason?: string }> }).actions.map((a) => [a.kind, a.reason])));
    expect(new Set(kinds).size).toBeGreaterThanOrEqual(6);
  });
});
