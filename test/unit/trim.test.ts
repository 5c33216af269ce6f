// What the informer caches keep: every field a plan reads or a write is conditional on must survive trimming.
import { trimClaim, trimPod } from '../../src/controller/trim.ts';
import { claimAt } from '../../src/planner/drain-pod.ts';
import * as keys from '../../src/planner/keys.ts';
import { aClaim, aDrainPod, aSet, aStatefulPod } from './fixtures.ts';

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
