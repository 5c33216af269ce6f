// The end of a keep, decided from the kept volumes as they are: nothing is reclaimed before its time, never a
// volume whose ordinal is back in its set's range, never a volume the controller did not mark as it marks them,
// and a volume someone changed since it was kept is left alone and said to be.
import fc from 'fast-check';
import type { V1PersistentVolume, V1StatefulSet } from '@kubernetes/client-node';
import { capacityBytes, keepMarks, planKeptVolumes, readKeptVolume, type KeptVolume } from '../../src/planner/kept-volumes.ts';
import {
  KEPT_CLAIM_ANNOTATION, KEPT_ORDINAL_ANNOTATION, KEPT_UNTIL_ANNOTATION, KEPT_VOLUME_LABEL, RESTORED_AT_ANNOTATION,
} from '../../src/planner/keys.ts';
import { runs } from './property-runs.ts';
import { aSet, NOW } from './fixtures.ts';

const HOUR = 3_600_000;
const kept = (over: Partial<KeptVolume> = {}): KeptVolume => ({
  namespace: 'ns', claim: 'data-db-3', claimUid: 'c3', statefulset: 'db', setUid: 'uid-db', ordinal: 3, drainPodUid: 'p3',
  keptAt: new Date(NOW.getTime() - 2 * HOUR).toISOString(), until: new Date(NOW.getTime() - HOUR).toISOString(), policyBefore: 'Delete',
  ...over,
});

/** A volume as the keep leaves it once its claim is deleted: Released, Retain, marked, its claimRef still the old claim's. */
function aKeptVolume(marks: KeptVolume = kept(), name = 'pv-3'): V1PersistentVolume {
  return {
    metadata: { name, uid: `uid-${name}`, resourceVersion: '42', ...keepMarks(marks) },
    spec: { persistentVolumeReclaimPolicy: 'Retain', capacity: { storage: '2Gi' },
      claimRef: { namespace: marks.namespace, name: marks.claim, uid: marks.claimUid } },
    status: { phase: 'Released' },
  };
}

const noSets = () => undefined;
const setWith = (replicas: number) => (ns: string, name: string): V1StatefulSet | undefined =>
  (ns === 'ns' && name === 'db' ? aSet({ replicas }) : undefined);

describe('planKeptVolumes', () => {
  it('a keep that is over: its reclaim policy is set back, conditional on the volume as listed', () => {
    const plan = planKeptVolumes([aKeptVolume()], setWith(3), NOW);
    expect(plan.actions).toEqual([{ kind: 'ReclaimVolume', volume: 'pv-3', uid: 'uid-pv-3', resourceVersion: '42', policy: 'Delete',
      kept: kept(), restored: false }]);
    expect(plan.volumes).toEqual([expect.objectContaining({ state: 'due', bytes: 2 * 2 ** 30 })]);
  });

  it('the set gone: reclaimed too', () => {
    expect(planKeptVolumes([aKeptVolume()], noSets, NOW).actions).toHaveLength(1);
  });

  it('a keep not over: nothing written, and planned again when it ends', () => {
    const plan = planKeptVolumes([aKeptVolume(kept({ until: new Date(NOW.getTime() + 90_000).toISOString() }))], noSets, NOW);
    expect(plan.actions).toEqual([]);
    expect(plan.volumes[0]).toMatchObject({ state: 'kept', why: expect.stringMatching(/^kept until /) });
    expect(plan.requeueAfterMs).toBe(90_000);
  });

  it('the ordinal back in its set\'s range: held, not reclaimed', () => {
    const plan = planKeptVolumes([aKeptVolume()], setWith(4), NOW);
    expect(plan.actions).toEqual([]);
    expect(plan.volumes[0]).toMatchObject({ state: 'held', why: expect.stringMatching(/ordinal 3 is in range of StatefulSet db again/) });
  });

  it('its claim not gone (the release called off after the keep was written): kept to its end, then its policy put back', () => {
    const within = aKeptVolume(kept({ until: new Date(NOW.getTime() + HOUR).toISOString() }));
    within.status = { phase: 'Bound' };
    const plan = planKeptVolumes([within], noSets, NOW);
    expect(plan.actions).toEqual([]);
    expect(plan.volumes[0]).toMatchObject({ state: 'kept', why: expect.stringMatching(/, and while claim data-db-3 still exists$/) });
    expect(plan.requeueAfterMs).toBe(HOUR);
    const over = aKeptVolume();
    over.status = { phase: 'Bound' };
    expect(planKeptVolumes([over], setWith(9), NOW)).toMatchObject({
      actions: [{ kind: 'ReclaimVolume', policy: 'Delete', restored: false }],
      volumes: [{ state: 'due',
        why: `its keep ended at ${kept().until} while claim data-db-3 still exists; reclaim policy set back to Delete` }] });
    for (const phase of ['Pending', 'Available', 'Failed']) {
      over.status = { phase };
      expect(planKeptVolumes([over], noSets, NOW).actions).toEqual([]);
    }
  });

  it('a volume released later than its keep was written (the claim went late) is kept for the keep\'s length from its release', () => {
    // Kept two hours ago for an hour; released 30 minutes ago (lastPhaseTransitionTime): kept until 30 minutes from now.
    const late = aKeptVolume();
    const releasedAt = new Date(NOW.getTime() - HOUR / 2);
    late.status = { phase: 'Released', lastPhaseTransitionTime: releasedAt.toISOString() as unknown as Date };
    const until = new Date(releasedAt.getTime() + HOUR).toISOString();
    expect(planKeptVolumes([late], setWith(3), NOW)).toMatchObject({ actions: [], requeueAfterMs: HOUR / 2,
      volumes: [{ state: 'kept', until, why: `kept until ${until}` }] });
    // Released right after the keep was written (or no transition time): the marked end.
    late.status = { phase: 'Released', lastPhaseTransitionTime: new Date(NOW.getTime() - 2 * HOUR).toISOString() as unknown as Date };
    expect(planKeptVolumes([late], setWith(3), NOW)).toMatchObject({ actions: [{ kind: 'ReclaimVolume' }],
      volumes: [{ state: 'due', until: kept().until }] });
    late.status = { phase: 'Released' };
    expect(planKeptVolumes([late], setWith(3), NOW).actions).toHaveLength(1);
    // Only a Released volume's transition is its release.
    late.status = { phase: 'Bound', lastPhaseTransitionTime: releasedAt.toISOString() as unknown as Date };
    expect(planKeptVolumes([late], setWith(3), NOW).volumes).toMatchObject([{ state: 'due', until: kept().until }]);
  });

  it('restored (bound to a new claim of the old name): kept until that claim is bound, then its policy put back', () => {
    const volume = aKeptVolume();
    volume.metadata!.annotations![RESTORED_AT_ANNOTATION] = NOW.toISOString();
    volume.spec!.claimRef = { namespace: 'ns', name: 'data-db-3' };
    volume.status = { phase: 'Available' };
    expect(planKeptVolumes([volume], noSets, NOW)).toMatchObject({ actions: [],
      volumes: [{ state: 'kept', why: 'being restored: kept until the new claim data-db-3 is bound to it' }] });
    volume.spec!.claimRef.uid = 'new-claim';
    expect(planKeptVolumes([volume], noSets, NOW).actions).toEqual([]);
    volume.status = { phase: 'Bound' };
    expect(planKeptVolumes([volume], setWith(9), NOW)).toMatchObject({
      actions: [{ kind: 'ReclaimVolume', policy: 'Delete', restored: true }],
      volumes: [{ state: 'due', why: 'restored to a new claim data-db-3; reclaim policy set back to Delete' }] });
    volume.spec!.claimRef = { namespace: 'ns', name: 'someone-else', uid: 'x' };
    expect(planKeptVolumes([volume], noSets, NOW)).toMatchObject({ actions: [],
      volumes: [{ state: 'edited', why: 'it was bound to another claim since it was restored; left alone' }] });
  });

  it('a set made again under the same name does not hold the volume of the set before it', () => {
    const again = (ns: string, name: string) => ({ ...setWith(9)(ns, name)!, metadata: { name: 'db', namespace: 'ns', uid: 'uid-new' } });
    expect(planKeptVolumes([aKeptVolume()], again, NOW).volumes[0]).toMatchObject({ state: 'due' });
  });

  const edits: Array<[string, (v: V1PersistentVolume) => void, RegExp]> = [
    ['its policy set to Delete by hand', (v) => { v.spec!.persistentVolumeReclaimPolicy = 'Delete'; }, /policy was changed to Delete/],
    ['bound to another claim (restored by hand)', (v) => { v.spec!.claimRef!.uid = 'another'; }, /bound to another claim/],
    ['its keep end removed', (v) => { delete v.metadata!.annotations![KEPT_UNTIL_ANNOTATION]; }, /marks were changed or removed/],
    ['its keep end not a time', (v) => { v.metadata!.annotations![KEPT_UNTIL_ANNOTATION] = 'tomorrow'; }, /marks were changed/],
    ['its claim not namespace/name', (v) => { v.metadata!.annotations![KEPT_CLAIM_ANNOTATION] = 'data-db-3'; }, /marks were changed/],
    ['its ordinal not a number', (v) => { v.metadata!.annotations![KEPT_ORDINAL_ANNOTATION] = 'three'; }, /marks were changed/],
    ['its label changed', (v) => { v.metadata!.labels![KEPT_VOLUME_LABEL] = 'yes'; }, /marks were changed/],
  ];
  it.each(edits)('changed since it was kept (%s): left alone, and said to be', (_name, edit, why) => {
    const volume = aKeptVolume();
    edit(volume);
    const plan = planKeptVolumes([volume], noSets, NOW);
    expect(plan.actions).toEqual([]);
    expect(plan.volumes[0]).toMatchObject({ state: 'edited', why: expect.stringMatching(why) });
  });

  it.each(Object.keys(keepMarks(kept()).annotations))('a volume missing its %s mark is not read as kept', (key) => {
    const volume = aKeptVolume();
    delete volume.metadata!.annotations![key];
    expect(readKeptVolume(volume)).toBeUndefined();
  });

  it.each([[KEPT_CLAIM_ANNOTATION, '/data-db-3'], [KEPT_CLAIM_ANNOTATION, 'ns/'], [KEPT_CLAIM_ANNOTATION, 'a/b/c'],
    [KEPT_ORDINAL_ANNOTATION, '-1'], [KEPT_ORDINAL_ANNOTATION, '1.5']])('a volume whose %s is %j is not read as kept', (key, value) => {
    const volume = aKeptVolume();
    volume.metadata!.annotations![key] = value;
    expect(readKeptVolume(volume)).toBeUndefined();
  });

  it('the keep ends at its very time; a set being deleted holds nothing; a volume without capacity has no bytes', () => {
    const endsNow = aKeptVolume(kept({ until: NOW.toISOString() }));
    delete endsNow.spec!.capacity;
    const plan = planKeptVolumes([endsNow], setWith(4), new Date(NOW.getTime()));
    expect(plan.volumes).toEqual([{ volume: 'pv-3', kept: kept({ until: NOW.toISOString() }), until: NOW.toISOString(), state: 'held',
      why: expect.any(String) }]);
    const deleting = (ns: string, name: string) => {
      const set = setWith(4)(ns, name)!;
      set.metadata!.deletionTimestamp = NOW;
      return set;
    };
    expect(planKeptVolumes([aKeptVolume()], deleting, NOW).volumes[0]).toEqual(expect.objectContaining({ state: 'due',
      why: `its keep ended at ${kept().until}; reclaim policy set back to Delete` }));
  });

  it('a keep over whose claim still exists is planned again with the resync, not at once', () => {
    const volume = aKeptVolume();
    volume.status = { phase: 'Bound' };
    expect(planKeptVolumes([volume], noSets, NOW).requeueAfterMs).toBeUndefined();
  });

  it('objects missing parts (as no API server sends them) are judged, never thrown on', () => {
    expect(planKeptVolumes([{}], noSets, NOW)).toStrictEqual({ actions: [], volumes: [{ volume: '', state: 'edited',
      why: 'its kept-volume marks were changed or removed since it was kept; left alone' }] });
    const bare = (drop: (v: V1PersistentVolume) => void) => {
      const v = aKeptVolume();
      drop(v);
      return planKeptVolumes([v], noSets, NOW).volumes[0]!.why;
    };
    expect(bare((v) => delete v.spec)).toBe('its reclaim policy was changed to none since it was kept; left alone');
    expect(bare((v) => delete v.spec!.claimRef)).toBe('it was bound to another claim since it was kept; left alone');
    expect(bare((v) => delete v.status)).toBe(`kept until ${kept().until}, and while claim data-db-3 still exists`);
    const noVersion = aKeptVolume();
    delete noVersion.metadata!.uid;
    delete noVersion.metadata!.resourceVersion;
    expect(planKeptVolumes([noVersion], noSets, NOW).actions).toEqual([expect.objectContaining({ uid: '', resourceVersion: '' })]);
  });

  it('a keep ending now whose claim still exists is not planned at once', () => {
    const volume = aKeptVolume(kept({ until: NOW.toISOString() }));
    volume.status = { phase: 'Bound' };
    expect(planKeptVolumes([volume], noSets, NOW).requeueAfterMs).toBeUndefined();
  });

  it('marks read back are the marks written', () => {
    expect(readKeptVolume(aKeptVolume(kept({ ordinal: 0, policyBefore: 'Retain' })))).toEqual(kept({ ordinal: 0, policyBefore: 'Retain' }));
  });

  it('capacities in bytes', () => {
    expect([capacityBytes('10Gi'), capacityBytes('500M'), capacityBytes('1e3'), capacityBytes('1.5Ki'), capacityBytes('lots')])
      .toEqual([10 * 2 ** 30, 5e8, 1000, 1536, undefined]);
    expect([capacityBytes('1.25Ki'), capacityBytes('1e12'), capacityBytes('x10Gi'), capacityBytes('10Gix'), capacityBytes(undefined)])
      .toEqual([1280, 1e12, undefined, undefined, undefined]);
  });

  it('property: only a volume marked as the controller marks them, still Retain and bound to the marked claim, past its keep, either ' +
      'Released with its ordinal out of its set\'s range (or its set gone) or Bound still, gets its policy back: the one it had', () => {
    const world = fc.record({
      untilOffsetMs: fc.integer({ min: -3 * HOUR, max: 3 * HOUR }),
      phase: fc.constantFrom('Released', 'Bound', 'Available', 'Failed'),
      policy: fc.constantFrom('Retain', 'Delete', 'Recycle'),
      claimRefUid: fc.constantFrom('c3', 'another', undefined),
      label: fc.constantFrom('true', 'false', undefined),
      replicas: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
      policyBefore: fc.constantFrom('Delete', 'Retain'),
    });
    fc.assert(fc.property(world, (w) => {
      const marks = kept({ until: new Date(NOW.getTime() + w.untilOffsetMs).toISOString(), policyBefore: w.policyBefore });
      const volume = aKeptVolume(marks);
      volume.status = { phase: w.phase };
      volume.spec!.persistentVolumeReclaimPolicy = w.policy;
      volume.spec!.claimRef = w.claimRefUid ? { uid: w.claimRefUid } : undefined;
      if (w.label === undefined) delete volume.metadata!.labels![KEPT_VOLUME_LABEL];
      else volume.metadata!.labels![KEPT_VOLUME_LABEL] = w.label;
      const plan = planKeptVolumes([volume], w.replicas === undefined ? noSets : setWith(w.replicas), NOW);
      // Released and out of range (or its set gone); or Bound to the marked claim still (a release called off).
      const reclaimable = w.policy === 'Retain' && w.claimRefUid === 'c3' && w.label === 'true' && w.untilOffsetMs <= 0 &&
        ((w.phase === 'Released' && (w.replicas === undefined || w.replicas <= 3)) || w.phase === 'Bound');
      expect(plan.actions).toEqual(reclaimable ? [expect.objectContaining({ volume: 'pv-3', policy: w.policyBefore })] : []);
    }), { numRuns: runs(500) });
  });
});
