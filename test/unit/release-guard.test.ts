// The release guard's reads: what it reads, what it makes of a 404, an outage or an odd answer, and that the
// set is read once per plan. (The conditions themselves: release-proof.test.ts; in the executor: executor.test.ts.)
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { ReleaseGuard, ReleaseRefusedError, StaleCacheError, type GuardReads } from '../../src/controller/release-guard.ts';
import { claimSeen } from '../../src/planner/drain-pod.ts';
import { DRAIN_POD_ANNOTATION } from '../../src/planner/keys.ts';
import { buildPlaceholder } from '../../src/planner/placeholder.ts';
import { drainedRecord } from '../../src/planner/release-proof.ts';
import { apiError } from './fakes/cluster.ts';
import { aClaim, aDrainPod, aSet } from './fixtures.ts';

const set = aSet({ replicas: 2 });
const claim = aClaim(set, 2);
const pod = aDrainPod(set, 2, [claim], { phase: 'Succeeded' });
claim.metadata!.resourceVersion = '7';
const podRef = { name: 'db-2', uid: pod.metadata!.uid! };
/** The claim as the plan saw it. */
const seenClaim = claimSeen(claim);
/** The claim's name, UID and version: a write's preconditions. */
const at = (c: V1PersistentVolumeClaim) => ({ name: c.metadata!.name, uid: c.metadata!.uid, resourceVersion: c.metadata!.resourceVersion });
const annotated = (c: V1PersistentVolumeClaim, annotations: Record<string, string>): V1PersistentVolumeClaim =>
  ({ ...c, metadata: { ...c.metadata, annotations: { ...c.metadata!.annotations, ...annotations } } });

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
  it('reads the set and the drain pod of the set\'s namespace, not the claim: its write is conditional on the claim as seen', async () => {
    const { api, calls } = reads();
    await expect(new ReleaseGuard(api, set).confirmDrained(2, seenClaim, podRef)).resolves.toEqual(at(claim));
    expect(calls).toEqual(['set ns/db', 'pod ns/db-2']);
  });

  it('reads the set and each drain pod once per plan', async () => {
    const { api, calls } = reads();
    const guard = new ReleaseGuard(api, set);
    await guard.confirmDrained(2, seenClaim, podRef);
    await guard.confirmDrained(2, seenClaim, podRef);
    expect(calls).toEqual(['set ns/db', 'pod ns/db-2']);
  });

  it('the set grew back over the ordinal, was deleted or was replaced: stale, nothing released', async () => {
    await expect(new ReleaseGuard(reads({ set: aSet({ replicas: 3 }) }).api, set)
      .confirmDrained(2, seenClaim, podRef)).rejects.toThrow(/grew back over ordinal 2/);
    await expect(new ReleaseGuard(reads({ set: apiError(404) }).api, set)
      .confirmDrained(2, seenClaim, podRef)).rejects.toThrow(/deleted or replaced/);
    const replaced = { ...set, metadata: { ...set.metadata, uid: 'another' } };
    await expect(new ReleaseGuard(reads({ set: replaced }).api, set).confirmDrained(2, seenClaim, podRef)).rejects.toThrow(StaleCacheError);
  });

  it('a claim the plan saw without a resourceVersion is refused: the write would not be conditional on it', async () => {
    const unversioned = { ...claim, metadata: { ...claim.metadata, resourceVersion: undefined } };
    await expect(new ReleaseGuard(reads().api, set).confirmDrained(2, claimSeen(unversioned), podRef))
      .rejects.toThrow(new ReleaseRefusedError('claim data-db-2 is not released: the plan saw no resourceVersion of it'));
  });

  it('a claim that does not record this drain pod, or records another drain\'s success, is refused', async () => {
    const another = annotated(claim, { [DRAIN_POD_ANNOTATION]: 'another-pod' });
    await expect(new ReleaseGuard(reads().api, set).confirmDrained(2, claimSeen(another), podRef))
      .rejects.toThrow(/claim data-db-2 is not released: claim data-db-2 does not record pod db-2/);
    await expect(new ReleaseGuard(reads().api, set).confirmDrained(2, claimSeen(annotated(claim, drainedRecord('another-pod', 0))), podRef))
      .resolves.toEqual(at(claim));
  });

  it('a copy behind this controller\'s own record of the success (the pod gone since): etcd\'s claim records it, nothing to ' +
      'do and no refusal', async () => {
    const recorded = annotated(claim, drainedRecord(podRef.uid, 0));
    const { api, calls } = reads({ claim: recorded, pod: apiError(404) });
    await expect(new ReleaseGuard(api, set).confirmDrained(2, seenClaim, podRef)).resolves.toBeUndefined();
    expect(calls).toEqual(['set ns/db', 'pod ns/db-2', 'claim ns/data-db-2']);
  });

  it('a claim gone or replaced under its name since the plan: nothing to record, no refusal', async () => {
    const replaced = { ...annotated(claim, drainedRecord('another-pod', 0)), metadata: { ...claim.metadata, uid: 'recreated' } };
    for (const answer of [replaced, apiError(404)]) {
      await expect(new ReleaseGuard(reads({ claim: answer, pod: apiError(404) }).api, set).confirmDrained(2, seenClaim, podRef))
        .resolves.toBeUndefined();
    }
  });

  it('refused when etcd\'s claim records another drain\'s success, or none', async () => {
    for (const answer of [annotated(claim, drainedRecord('another-pod', 0)), claim]) {
      await expect(new ReleaseGuard(reads({ claim: answer, pod: apiError(404) }).api, set).confirmDrained(2, seenClaim, podRef))
        .rejects.toThrow(/claim data-db-2 is not released: its drain pod no longer exists/);
    }
  });

  it('a drain pod gone (404): refused', async () => {
    await expect(new ReleaseGuard(reads({ pod: apiError(404) }).api, set)
      .confirmDrained(2, seenClaim, podRef)).rejects.toThrow(ReleaseRefusedError);
  });

  it('an outage on any read is an error to retry, never a 404', async () => {
    for (const failing of ['set', 'pod'] as const) {
      const outage = apiError(503);
      await expect(new ReleaseGuard(reads({ [failing]: outage }).api, set).confirmDrained(2, seenClaim, podRef)).rejects.toBe(outage);
    }
  });

  it('odd answers (objects without metadata) and a set without metadata are refused, a copy without metadata records nothing; ' +
      'none is thrown on', async () => {
    await expect(new ReleaseGuard(reads({ set: {} }).api, set).confirmDrained(2, seenClaim, podRef)).rejects.toThrow(StaleCacheError);
    await expect(new ReleaseGuard(reads({ pod: {} }).api, set).confirmDrained(2, seenClaim, podRef)).rejects.toThrow(ReleaseRefusedError);
    await expect(new ReleaseGuard(reads().api, set).confirmDrained(2, claimSeen({}), podRef)).resolves.toBeUndefined();
    const { api, calls } = reads({ set: apiError(404) });
    await expect(new ReleaseGuard(api, {}).confirmDrained(2, seenClaim, podRef)).rejects.toThrow(StaleCacheError);
    expect(calls).toEqual(['set /']);
    await expect(new ReleaseGuard(reads().api, {}).confirmDrained(2, seenClaim, podRef)).rejects.toThrow(/deleted or replaced/);
  });
});

describe('ReleaseGuard before a drain pod is created', () => {
  const planned = { name: 'data-db-2', uid: claim.metadata!.uid!, resourceVersion: '7' };

  it('reads each claim and finds it as the plan saw it (UID and version)', async () => {
    const { api, calls } = reads();
    await expect(new ReleaseGuard(api, set).confirmClaimsAsPlanned([planned])).resolves.toBeUndefined();
    expect(calls).toEqual(['claim ns/data-db-2']);
  });

  it('a claim gone, replaced under its name (even where the plan knew no version), at another version or unreadable: ' +
      'stale, no drain pod', async () => {
    const replaced = { ...claim, metadata: { ...claim.metadata, uid: 'recreated' } };
    const unversioned = { name: 'data-db-2', uid: claim.metadata!.uid! };
    const cases: Array<[Parameters<typeof reads>[0], typeof planned | typeof unversioned]> = [
      [{ claim: apiError(404) }, planned], [{ claim: replaced }, unversioned], [{ claim: {} }, unversioned],
      [{}, { ...planned, resourceVersion: '6' }],
    ];
    for (const [answers, ref] of cases) {
      await expect(new ReleaseGuard(reads(answers).api, set).confirmClaimsAsPlanned([ref]))
        .rejects.toThrow(new StaleCacheError('claim(s) data-db-2 changed since the plan; no drain pod created'));
    }
  });
});

describe('ReleaseGuard before a drained claim is deleted, and before the placeholder frees the name', () => {
  const drainedSet = aSet({ replicas: 2 });
  drainedSet.metadata!.generation = 4;
  const drainedClaim = aClaim(drainedSet, 2, { annotations: { [DRAIN_POD_ANNOTATION]: 'p', ...drainedRecord('p', 4) } });
  drainedClaim.metadata!.resourceVersion = '9';
  const placeholder = buildPlaceholder(drainedSet, 'drainer', 2);
  placeholder.metadata!.uid = 'h';
  const guard = (answers: Parameters<typeof reads>[0] = {}) => {
    const r = reads({ set: drainedSet, pod: placeholder, claim: drainedClaim, ...answers });
    return { guard: new ReleaseGuard(r.api, drainedSet), calls: r.calls };
  };

  it('reads the placeholder and the set, not the claim: the delete is conditional on the claim the plan saw', async () => {
    const { guard: g, calls } = guard();
    await expect(g.confirmDeletable(2, drainedClaim, { name: 'db-2', uid: 'h' })).resolves.toEqual(at(drainedClaim));
    expect(calls).toEqual(['pod ns/db-2', 'set ns/db']);
  });

  it('reads the set again before each delete, after the placeholder: the read closest to the delete decides', async () => {
    const { guard: g, calls } = guard();
    await g.confirmDeletable(2, drainedClaim, { name: 'db-2', uid: 'h' });
    await g.confirmDeletable(2, drainedClaim, { name: 'db-2', uid: 'h' });
    expect(calls).toEqual(['pod ns/db-2', 'set ns/db', 'set ns/db']);
  });

  it('refused without the placeholder as the plan saw it, or for a set changed since the drain', async () => {
    await expect(guard({ pod: apiError(404) }).guard.confirmDeletable(2, drainedClaim,
      { name: 'db-2', uid: 'h' })).rejects.toThrow(/no placeholder holds ordinal 2's name/);
    await expect(guard().guard.confirmDeletable(2, drainedClaim, { name: 'db-2', uid: 'another' })).rejects.toThrow(ReleaseRefusedError);
    const changed = { ...drainedSet, metadata: { ...drainedSet.metadata, generation: 5 } };
    await expect(guard({ set: changed }).guard.confirmDeletable(2, drainedClaim, { name: 'db-2', uid: 'h' }))
      .rejects.toThrow(/generation 4, now 5/);
    await expect(guard({ set: aSet({ replicas: 3 }) }).guard.confirmDeletable(2, drainedClaim,
      { name: 'db-2', uid: 'h' })).rejects.toThrow(/grew back over ordinal 2/);
    const undrained = { ...drainedClaim, metadata: { ...drainedClaim.metadata, annotations: { [DRAIN_POD_ANNOTATION]: 'p' } } };
    await expect(guard().guard.confirmDeletable(2, undrained, { name: 'db-2', uid: 'h' })).rejects.toThrow(/records no successful drain/);
    const unversioned = { ...drainedClaim, metadata: { ...drainedClaim.metadata, resourceVersion: undefined } };
    await expect(guard().guard.confirmDeletable(2, unversioned, { name: 'db-2', uid: 'h' }))
      .rejects.toThrow(new ReleaseRefusedError('claim data-db-2 is not released: the plan saw no resourceVersion of it'));
  });

  it('the name is freed only once no claim of the ordinal is being deleted (gone or live claims are fine)', async () => {
    const deleting = aClaim(drainedSet, 2, { deleting: true });
    const { guard: held, calls } = guard({ claim: deleting });
    await expect(held.confirmNameMayBeFreed(2)).rejects.toThrow(/data-db-2 of ordinal 2 are still being deleted/);
    expect(calls).toEqual(['claim ns/data-db-2']);
    await expect(guard({ claim: apiError(404) }).guard.confirmNameMayBeFreed(2)).resolves.toBeUndefined();
    await expect(guard({ claim: aClaim(drainedSet, 2) }).guard.confirmNameMayBeFreed(2)).resolves.toBeUndefined();
    const outage = apiError(503);
    await expect(guard({ claim: outage }).guard.confirmNameMayBeFreed(2)).rejects.toBe(outage);
    await expect(guard({ claim: {} }).guard.confirmNameMayBeFreed(2)).resolves.toBeUndefined();
  });

  it('names every claim still being deleted; a set without claim templates or a name reads what it can', async () => {
    const two = aSet({ replicas: 2, templates: ['data', 'wal'] });
    const r = reads({ claim: aClaim(two, 2, { deleting: true }) });
    const tworeads: GuardReads = { ...r.api,
      getClaim: (_ns, name) => Promise.resolve(aClaim(two, 2, { template: name.split('-')[0], deleting: true })) };
    await expect(new ReleaseGuard(tworeads, two).confirmNameMayBeFreed(2)).rejects.toThrow(/claim\(s\) data-db-2, wal-db-2 of ordinal 2/);
    const none = reads();
    await expect(new ReleaseGuard(none.api, {}).confirmNameMayBeFreed(2)).resolves.toBeUndefined();
    expect(none.calls).toEqual([]);
    const unnamed = reads({ claim: apiError(404) });
    await new ReleaseGuard(unnamed.api, { metadata: { namespace: 'ns' }, spec: { selector: {}, template: {}, serviceName: '',
      volumeClaimTemplates: [{ metadata: { name: 'data' } }] } }).confirmNameMayBeFreed(2);
    expect(unnamed.calls).toEqual(['claim ns/data--2']);
  });
});
