// The release guard's reads: what it reads, what it makes of a 404, an outage or an odd answer, and that the
// set is read once per plan. (The conditions themselves: release-proof.test.ts; in the executor: executor.test.ts.)
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { ReleaseGuard, ReleaseRefusedError, StaleCacheError, type GuardReads } from '../../src/controller/release-guard.ts';
import { apiError } from './fakes/cluster.ts';
import { aClaim, aDrainPod, aSet } from './fixtures.ts';

const set = aSet({ replicas: 2 });
const claim = aClaim(set, 2);
const pod = aDrainPod(set, 2, [claim], { phase: 'Succeeded' });
const claimRef = { name: 'data-db-2', uid: claim.metadata!.uid! };
const podRef = { name: 'db-2', uid: pod.metadata!.uid! };

/** Answers each read with the object given, or throws the error given; records the reads. */
function reads(answers: { set?: V1StatefulSet | Error; pod?: V1Pod | Error; claim?: V1PersistentVolumeClaim | Error } = {}) {
  const calls: string[] = [];
  const answer = <T>(call: string, value: T | Error | undefined, fallback: T): Promise<T> => {
    calls.push(call);
    const v = value === undefined ? fallback : value;
    return v instanceof Error ? Promise.reject(v) : Promise.resolve(v);
  };
  const api: GuardReads = {
    getStatefulSet: (ns, name) => answer(`set ${ns}/${name}`, answers.set, set),
    getPod: (ns, name) => answer(`pod ${ns}/${name}`, answers.pod, pod),
    getClaim: (ns, name) => answer(`claim ${ns}/${name}`, answers.claim, claim),
  };
  return { api, calls };
}

describe('ReleaseGuard', () => {
  it('reads the set, the drain pod and the claim of the set\'s namespace, and returns the claim as read', async () => {
    const { api, calls } = reads();
    await expect(new ReleaseGuard(api, set).confirm(2, claimRef, podRef)).resolves.toBe(claim);
    expect(calls).toEqual(['set ns/db', 'pod ns/db-2', 'claim ns/data-db-2']);
  });

  it('reads the set and each drain pod once per plan, each claim every time', async () => {
    const { api, calls } = reads();
    const guard = new ReleaseGuard(api, set);
    await guard.confirm(2, claimRef, podRef);
    await guard.confirm(2, claimRef, podRef);
    expect(calls).toEqual(['set ns/db', 'pod ns/db-2', 'claim ns/data-db-2', 'claim ns/data-db-2']);
  });

  it('the set grew back over the ordinal, was deleted or was replaced: stale, nothing released', async () => {
    await expect(new ReleaseGuard(reads({ set: aSet({ replicas: 3 }) }).api, set).confirm(2, claimRef, podRef)).rejects.toThrow(/grew back over ordinal 2/);
    await expect(new ReleaseGuard(reads({ set: apiError(404) }).api, set).confirm(2, claimRef, podRef)).rejects.toThrow(/deleted or replaced/);
    const replaced = { ...set, metadata: { ...set.metadata, uid: 'another' } };
    await expect(new ReleaseGuard(reads({ set: replaced }).api, set).confirm(2, claimRef, podRef)).rejects.toThrow(StaleCacheError);
  });

  it('a claim gone (404) or replaced under its name: nothing to delete, no error', async () => {
    await expect(new ReleaseGuard(reads({ claim: apiError(404) }).api, set).confirm(2, claimRef, podRef)).resolves.toBeUndefined();
    await expect(new ReleaseGuard(reads({ claim: aClaim(set, 2, { uid: 'recreated' }) }).api, set).confirm(2, claimRef, podRef)).resolves.toBeUndefined();
  });

  it('a drain pod gone (404): refused', async () => {
    await expect(new ReleaseGuard(reads({ pod: apiError(404) }).api, set).confirm(2, claimRef, podRef)).rejects.toThrow(ReleaseRefusedError);
  });

  it('an outage on any read is an error to retry, never a 404', async () => {
    for (const failing of ['set', 'pod', 'claim'] as const) {
      const outage = apiError(503);
      await expect(new ReleaseGuard(reads({ [failing]: outage }).api, set).confirm(2, claimRef, podRef)).rejects.toBe(outage);
    }
  });

  it('odd answers (objects without metadata) and a set without metadata are refused, not thrown on', async () => {
    await expect(new ReleaseGuard(reads({ set: {} }).api, set).confirm(2, claimRef, podRef)).rejects.toThrow(StaleCacheError);
    await expect(new ReleaseGuard(reads({ claim: {} }).api, set).confirm(2, claimRef, podRef)).resolves.toBeUndefined();
    const { api, calls } = reads({ set: apiError(404) });
    await expect(new ReleaseGuard(api, {}).confirm(2, claimRef, podRef)).rejects.toThrow(StaleCacheError);
    expect(calls).toEqual(['set /']);
    await expect(new ReleaseGuard(reads().api, {}).confirm(2, claimRef, podRef)).rejects.toThrow(/deleted or replaced/);
  });
});
