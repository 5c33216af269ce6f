// What the informer caches keep: every field a plan reads or a write is conditional on must survive trimming.
import { trimClaim, trimPod } from '../../src/controller/trim.ts';
import { claimAt } from '../../src/planner/drain-pod.ts';
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
    expect(trimPod(stripped)).toEqual({ metadata: { name: 'db-2', namespace: 'ns', uid: stripped.metadata!.uid }, status: { phase: 'Succeeded' } });
    const replica = aStatefulPod(set, 0);
    expect(trimPod(replica).metadata).toEqual({ name: 'db-0', namespace: 'ns', ...(replica.metadata!.uid ? { uid: replica.metadata!.uid } : {}) });
  });
});
