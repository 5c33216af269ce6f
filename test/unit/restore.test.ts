// `restore`: each claim of a released ordinal gets its latest kept volume back, on a claim made as the
// StatefulSet controller makes them; refused, with nothing written, when the ordinal is in range, a claim of
// that name exists, or a volume is gone or changed. And the restored claim is not drained before its scale-up.
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { keepMarks, type KeptVolume } from '../../src/planner/kept-volumes.ts';
import { KEPT_CLAIM_ANNOTATION, KEPT_SET_ANNOTATION, RESTORED_ANNOTATION, RESTORED_AT_ANNOTATION } from '../../src/planner/keys.ts';
import { planRestore } from '../../src/planner/restore.ts';
import { planSet } from '../../src/planner/plan.ts';
import { parseDrainerTemplate } from '../../src/planner/template.ts';
import { ACCEPTED, NOW, aClaim, aSet, aStatefulPod, settings } from './fixtures.ts';

const set = aSet({ replicas: 2, templates: ['data', 'wal'] });
set.metadata!.generation = 9;
set.spec!.volumeClaimTemplates![0]!.spec = { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: {
  storage: '1Gi' } } };
set.spec!.volumeClaimTemplates![0]!.metadata!.labels = { tier: 'data' };

function kept(claim: string, keptAt: string, volume: string): V1PersistentVolume {
  const marks: KeptVolume = { namespace: 'ns', claim, claimUid: `uid-${volume}-claim`, statefulset: 'db', setUid: 'uid-db', ordinal: 2,
    drainPodUid: 'p',
    keptAt, until: '2026-12-31T00:00:00.000Z', policyBefore: 'Delete' };
  return {
    metadata: { name: volume, uid: `uid-${volume}`, resourceVersion: '3', ...keepMarks(marks) },
    spec: { persistentVolumeReclaimPolicy: 'Retain', claimRef: { namespace: 'ns', name: claim, uid: marks.claimUid } },
    status: { phase: 'Released' },
  };
}
/** Kept volumes of ordinal 2 (data twice, the later one wins; wal), of ordinal 3, and a volume nobody kept. */
const volumes = () => [kept('data-db-2', '2026-12-01T00:00:00Z', 'pv-old'), kept('data-db-2', '2026-12-02T00:00:00Z', 'pv-data'),
  kept('wal-db-2', '2026-12-02T00:00:00Z', 'pv-wal'), kept('data-db-3', '2026-12-02T00:00:00Z', 'pv-other-ordinal'),
  { metadata: { name: 'pv-not-kept' }, spec: {}, status: { phase: 'Released' } }];

describe('planRestore', () => {
  it('each claim gets its latest kept volume, on a claim with the template\'s spec and labels, the selector labels, and the hold', () => {
    const plan = planRestore(set, 2, [], volumes());
    expect('steps' in plan && plan.steps.map((s) => [s.volume, s.uid, s.claim.metadata!.name, s.resourceVersion])).toEqual([
      ['pv-data', 'uid-pv-data', 'data-db-2', '3'], ['pv-wal', 'uid-pv-wal', 'wal-db-2', '3']]);
    expect('steps' in plan && plan.steps[0]!.claim).toEqual({ apiVersion: 'v1', kind: 'PersistentVolumeClaim',
      metadata: { name: 'data-db-2', namespace: 'ns', labels: { tier: 'data', app: 'db' },
        annotations: { [RESTORED_ANNOTATION]: 'pv-data/uid-db/9' } },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '1Gi' } },
        volumeName: 'pv-data' } });
  });

  const refusals: Array<[string, () => ReturnType<typeof planRestore>, RegExp]> = [
    ['the ordinal is in range', () => planRestore(set, 1, [], volumes()),
      new RegExp('^ordinal 1 is in range of StatefulSet ns/db \\(replicas 2\\): its replica has its claims; restore only an ordinal ' +
        'the set has shrunk below$')],
    ['the set has no claim templates', () => planRestore({ ...set, spec: { ...set.spec!, volumeClaimTemplates: [] } }, 2, [], volumes()),
      /^StatefulSet ns\/db has no volumeClaimTemplates$/],
    ['a kept volume of a claim of that name in another namespace is not this one\'s', () => planRestore(set, 2, [], volumes().map((v) => {
      const marks = v.metadata!.annotations;
      if (marks) marks[KEPT_CLAIM_ANNOTATION] = `elsewhere/${marks[KEPT_CLAIM_ANNOTATION]!.split('/')[1]}`;
      return v;
    })), new RegExp('^no kept volume of claim ns/data-db-2: it was not kept, or its keep ended and it was reclaimed ' +
      '\\(`kubectl get pv -l drain.statefulsets.kubernetes.io/kept-volume=true` lists those kept\\)$')],
    ['a claim of that name exists', () => planRestore(set, 2, [aClaim(set, 2, { template: 'wal' })], volumes()),
      /claim ns\/wal-db-2 exists/],
    ['one claim has no kept volume', () => planRestore(set, 2, [], volumes().filter((v) => v.metadata!.name !== 'pv-wal')),
      /no kept volume of claim ns\/wal-db-2/],
    ['a volume kept for another set spelling the same claim name is not this one\'s', () => planRestore(set, 2, [], volumes().map((v) => {
      if (v.metadata!.annotations?.[KEPT_SET_ANNOTATION]) v.metadata!.annotations[KEPT_SET_ANNOTATION] = 'd';
      return v;
    })), /^no kept volume of claim ns\/data-db-2/],
    ['a volume of another set of that name is not this one\'s', () => planRestore({ ...set, metadata: { ...set.metadata, name: 'db2' } },
      2, [], volumes()), /no kept volume of claim ns\/data-db2-2/],
    ['a volume bound to another claim since', () => {
      const vs = volumes();
      vs[1]!.spec!.claimRef!.uid = 'someone-else';
      return planRestore(set, 2, [], vs);
    }, /volume pv-data of claim data-db-2 is Released and bound to another claim; restore it by hand/],
    ['a volume whose claim is not gone yet', () => {
      const vs = volumes();
      vs[1]!.status = { phase: 'Bound' };
      return planRestore(set, 2, [], vs);
    }, /volume pv-data of claim data-db-2 is Bound and bound to its old claim still/],
  ];
  it('a set without a spec (as no API server sends it): one replica, no claim templates', () => {
    const bare = { metadata: set.metadata };
    expect(planRestore(bare, 0, [], volumes())).toEqual({ refused: expect.stringMatching(/^ordinal 0 is in range .* \(replicas 1\)/) });
    expect(planRestore(bare, 2, [], volumes())).toEqual({ refused: 'StatefulSet ns/db has no volumeClaimTemplates' });
  });

  it('volumes missing parts are refused by name, or restored with what they have', () => {
    const noStatus = volumes();
    delete noStatus[1]!.status;
    delete noStatus[1]!.spec!.claimRef;
    expect(planRestore(set, 2, [], noStatus)).toEqual({ refused: 'volume pv-data of claim data-db-2 is in no phase and bound to another ' +
      'claim; restore it by hand' });
    const noSpec = volumes();
    delete noSpec[1]!.spec;
    expect(planRestore(set, 2, [], noSpec)).toEqual({ refused: expect.stringMatching(/^volume pv-data .* bound to another claim/) });
    const noMeta = volumes();
    delete noMeta[1]!.metadata!.uid;
    delete noMeta[1]!.metadata!.resourceVersion;
    const plan = planRestore(set, 2, [], noMeta);
    expect('steps' in plan && [plan.steps[0]!.uid, plan.steps[0]!.resourceVersion]).toEqual(['', '']);
    const unlabelled = { ...set, spec: { ...set.spec!, volumeClaimTemplates: set.spec!.volumeClaimTemplates!.map((t) => ({ ...t,
      metadata: { name: t.metadata!.name } })) } };
    const labels = planRestore(unlabelled, 2, [], volumes());
    expect('steps' in labels && labels.steps[0]!.claim.metadata!.labels).toEqual({ app: 'db' });
    const nameless = { ...set, spec: { ...set.spec!, volumeClaimTemplates: [{ spec: {} }] } };
    expect(planRestore(nameless, 2, [], volumes())).toEqual({ refused: expect.stringMatching(/^no kept volume of claim ns\/-db-2:/) });
    const restoredNameless = planRestore(nameless, 2, [], [kept('-db-2', '2026-12-02T00:00:00Z', 'pv-nameless')]);
    expect('steps' in restoredNameless && restoredNameless.steps[0]!.claim.metadata!.labels).toEqual({ app: 'db' });
  });

  it('a restore that stopped half-way is finished by running it again; a claim it made is left as it is', () => {
    const halfway = volumes();
    for (const v of halfway.slice(1, 3)) {
      v.metadata!.annotations![RESTORED_AT_ANNOTATION] = '2026-12-03T00:00:00Z';
      v.spec!.claimRef = { namespace: 'ns', name: v.spec!.claimRef!.name! };
      v.status = { phase: 'Available' };
    }
    // data-db-2 made (and bound), wal-db-2 not yet.
    const made = aClaim(set, 2, { uid: 'restored-data', annotations: { [RESTORED_ANNOTATION]: 'pv-data/uid-db/9' } });
    halfway[1]!.spec!.claimRef!.uid = 'restored-data';
    halfway[1]!.status = { phase: 'Bound' };
    const plan = planRestore(set, 2, [made], halfway);
    expect('steps' in plan && plan.steps.map((s) => [s.volume, s.claimExists])).toEqual([['pv-data', true], ['pv-wal', false]]);
    // A claim of the name made from another volume is not this restore's.
    const other = aClaim(set, 2, { annotations: { [RESTORED_ANNOTATION]: 'pv-old/uid-db/9' } });
    expect(planRestore(set, 2, [other], halfway)).toEqual({ refused: expect.stringMatching(/^claim ns\/data-db-2 exists/) });
  });

  const notHalfway: Array<[string, (v: V1PersistentVolume) => void]> = [
    ['bound to the name, but not by restore (no restored-at)', (v) => delete v.metadata!.annotations![RESTORED_AT_ANNOTATION]],
    ['bound to the name in another namespace', (v) => { v.spec!.claimRef!.namespace = 'elsewhere'; }],
    ['bound to another name', (v) => { v.spec!.claimRef!.name = 'data-db-9'; }],
    ['bound to another claim of the name (a UID not of the claim restore made)', (v) => { v.spec!.claimRef!.uid = 'someone-else'; }],
  ];
  it.each(notHalfway)('a volume that looks half-restored but is %s is refused, never rebound', (_name, change) => {
    const vs = volumes();
    vs[1]!.metadata!.annotations![RESTORED_AT_ANNOTATION] = '2026-12-03T00:00:00Z';
    vs[1]!.spec!.claimRef = { namespace: 'ns', name: 'data-db-2' };
    vs[1]!.status = { phase: 'Available' };
    expect('steps' in planRestore(set, 2, [], vs)).toBe(true);
    change(vs[1]!);
    expect(planRestore(set, 2, [], vs))
      .toEqual({ refused: 'volume pv-data of claim data-db-2 is Available and bound to another claim; restore it by hand' });
  });

  it.each(refusals)('refused: %s', (_name, planned, why) => {
    const plan = planned();
    expect(plan).toEqual({ refused: expect.stringMatching(why) });
  });
});

describe('a restored claim is not drained until its set changes', () => {
  const observe = (generation: number, annotation: string) => {
    const s = aSet({ replicas: 2 });
    s.metadata!.generation = generation;
    const claims = [aClaim(s, 0), aClaim(s, 1), aClaim(s, 2, { annotations: { [RESTORED_ANNOTATION]: annotation } })];
    return planSet({ set: s, claims, pods: [aStatefulPod(s, 0), aStatefulPod(s, 1)], template: parseDrainerTemplate(s),
      templateVerdict: ACCEPTED, now: NOW }, settings);
  };

  it('at the generation it was restored at: held, with the reason', () => {
    const plan = observe(12, 'pv-data/uid-db/12');
    expect(plan.actions.filter((a) => a.kind === 'CreateDrainPod')).toEqual([]);
    expect(plan.ordinals).toEqual([expect.objectContaining({ ordinal: 2, state: 'blocked',
      why: 'claim data-db-2 was restored from a kept volume for a scale-up over this ordinal; it is not drained until the StatefulSet ' +
        'changes' })]);
  });

  it('once the set changed (the scale-up came and went): drained as any orphan', () => {
    expect(observe(14, 'pv-data/uid-db/12').actions.filter((a) => a.kind === 'CreateDrainPod')).toHaveLength(1);
    // Another set of the name (deleted and made again): its generation counts from 1 again, the mark is not its own.
    expect(observe(12, 'pv-data/uid-of-the-set-before/12').actions.filter((a) => a.kind === 'CreateDrainPod')).toHaveLength(1);
  });
});
