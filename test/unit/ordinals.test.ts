// observeOrdinals: the set seen ordinal by ordinal, the first step of every plan.
import { ATTEMPT_ANNOTATION, ENDED_DRAIN_POD_ANNOTATION } from '../../src/planner/keys.ts';
import { ORDINAL_LABEL } from '../../src/planner/keys.ts';
import { observeOrdinals } from '../../src/planner/ordinals.ts';
import { buildPlaceholder } from '../../src/planner/placeholder.ts';
import { NOW, aClaim, aDrainPod, aSet, aStatefulPod, recordDrainPod } from './fixtures.ts';

const set = aSet({ name: 'db', replicas: 2, templates: ['data', 'logs'] });
const at = (view: ReturnType<typeof observeOrdinals>, ordinal: number) => view.ordinals.find((v) => v.ordinal === ordinal);

describe('observeOrdinals', () => {
  it('groups the set\'s claims and pods by ordinal, highest first, live claims apart from those being deleted', () => {
    const data3 = aClaim(set, 3);
    const logs3 = aClaim(set, 3, { template: 'logs' });
    const deleting = aClaim(set, 4, { deleting: true });
    const view = observeOrdinals(set, [aClaim(set, 0), data3, logs3, deleting], [aStatefulPod(set, 0)]);
    expect(view.ordinals.map((v) => [v.ordinal, v.inRange])).toEqual([[4, false], [3, false], [0, true]]);
    expect([...at(view, 3)!.claims.entries()]).toEqual([['data', data3], ['logs', logs3]]);
    expect(at(view, 4)!.claims.size).toBe(0);
    expect(at(view, 4)!.deletingClaims).toEqual([deleting]);
    expect(at(view, 0)!.holder?.metadata?.name).toBe('db-0');
  });

  it('claims of another set are not the set\'s', () => {
    expect(observeOrdinals(set, [aClaim(aSet({ name: 'web' }), 3), aClaim(set, 3, { labels: {} })], []).ordinals).toEqual([]);
  });

  it('a placeholder holds its ordinal\'s name as the placeholder, neither as a holder nor as a drain pod', () => {
    const placeholder = buildPlaceholder(set, 'busybox', 3);
    const view = at(observeOrdinals(set, [aClaim(set, 3)], [placeholder]), 3)!;
    expect(view.placeholder).toBe(placeholder);
    expect([view.holder, view.drainPod]).toEqual([undefined, undefined]);
  });

  it('a pod of another namespace, or whose name is not the set\'s, holds no ordinal', () => {
    const stranger = aStatefulPod(set, 5);
    stranger.metadata!.namespace = 'other';
    const unrelated = [aStatefulPod(aSet({ name: 'web' }), 6), { metadata: { name: 'db-x', namespace: 'ns' } }];
    expect(observeOrdinals(set, [], [stranger, ...unrelated]).ordinals).toEqual([]);
  });

  it('a claim another set of the namespace also spells is contested and left out; a rival that does not spell it changes nothing', () => {
    const ab = aSet({ name: 'a-b' });
    const claim = aClaim(ab, 3);
    const rival = aSet({ name: 'b', templates: ['data-a'] });
    const bystander = aSet({ name: 'web' });
    expect(observeOrdinals(ab, [claim], [], [rival]).contested).toEqual([{ claim, rival: 'b' }]);
    expect(observeOrdinals(ab, [claim], [], [rival]).ordinals).toEqual([]);
    const alone = observeOrdinals(ab, [claim], [], [bystander]);
    expect(alone.contested).toEqual([]);
    expect(at(alone, 3)!.claims.get('data')).toBe(claim);
  });

  it('a proven drain pod may release every live claim of its ordinal that records it; a look-alike none', () => {
    const claims = [aClaim(set, 3), aClaim(set, 3, { template: 'logs' })];
    const pod = aDrainPod(set, 3, claims, { phase: 'Succeeded', attempt: 2 });
    const drain = at(observeOrdinals(set, claims, [pod]), 3)!.drainPod!;
    expect(drain).toMatchObject({ proven: true, modified: false, ended: false, phase: 'Succeeded', attempt: 2, terminating: false,
      ref: { name: 'db-3', uid: 'uid-drain-3-2' }, listedClaims: ['data-db-3', 'logs-db-3'] });
    expect(drain.releasableClaims).toEqual(claims);
    expect(drain.recordedOn).toEqual(claims);

    const fresh = [aClaim(set, 3), aClaim(set, 3, { template: 'logs' })];
    const lookAlike = at(observeOrdinals(set, fresh, [aDrainPod(set, 3, fresh, { phase: 'Succeeded', record: false })]), 3)!.drainPod!;
    expect(lookAlike).toMatchObject({ proven: false, modified: false, releasableClaims: [], recordedOn: [] });
  });

  it('reads a drain pod the API server has not filled in yet: no status is Pending, no or a garbled attempt is the first', () => {
    const claims = [aClaim(set, 3)];
    const pod = aDrainPod(set, 3, claims);
    delete pod.status;
    expect(at(observeOrdinals(set, claims, [pod]), 3)!.drainPod).toMatchObject({ phase: 'Pending', attempt: 1 });
    pod.metadata!.annotations = { ...pod.metadata!.annotations, [ATTEMPT_ANNOTATION]: 'x' };
    expect(at(observeOrdinals(set, claims, [pod]), 3)!.drainPod!.attempt).toBe(1);
    delete pod.metadata!.annotations;
    expect(at(observeOrdinals(set, claims, [pod]), 3)!.drainPod!.attempt).toBe(1);
  });

  it('a drain pod is ended when a claim of its ordinal keeps its UID as ended; an empty record names no pod', () => {
    const claim = aClaim(set, 3, { annotations: { [ENDED_DRAIN_POD_ANNOTATION]: 'uid-drain-3-1' } });
    const pod = aDrainPod(set, 3, [claim], { record: false });
    expect(at(observeOrdinals(set, [claim], [pod]), 3)!.drainPod!.ended).toBe(true);
    const blank = aClaim(set, 3, { annotations: { [ENDED_DRAIN_POD_ANNOTATION]: '' } });
    const noUid = aDrainPod(set, 3, [blank], { record: false });
    delete noUid.metadata!.uid;
    expect(at(observeOrdinals(set, [blank], [noUid]), 3)!.drainPod).toMatchObject({ ended: false, ref: { name: 'db-3', uid: '' } });
  });

  it('one claim recording the pod proves it, and only the claims that record it are releasable', () => {
    const recorded = aClaim(set, 3);
    const other = aClaim(set, 3, { template: 'logs' });
    const pod = aDrainPod(set, 3, [recorded, other], { phase: 'Succeeded', record: false });
    recordDrainPod(recorded, pod);
    const drain = at(observeOrdinals(set, [recorded, other], [pod]), 3)!.drainPod!;
    expect(drain).toMatchObject({ proven: true, releasableClaims: [recorded], recordedOn: [recorded] });
  });

  it('a claim being deleted is neither releasable nor counted as recording the pod', () => {
    const live = aClaim(set, 3);
    const deleting = aClaim(set, 3, { template: 'logs', deleting: true });
    const pod = aDrainPod(set, 3, [live, deleting], { phase: 'Succeeded' });
    const drain = at(observeOrdinals(set, [live, deleting], [pod]), 3)!.drainPod!;
    expect(drain).toMatchObject({ proven: true, releasableClaims: [live], recordedOn: [live] });
  });

  it('a recorded pod whose ordinal label names another ordinal is not proven', () => {
    const claims = [aClaim(set, 3)];
    const pod = aDrainPod(set, 3, claims, { phase: 'Succeeded' });
    pod.metadata!.labels![ORDINAL_LABEL] = '4';
    expect(at(observeOrdinals(set, claims, [pod]), 3)!.drainPod).toMatchObject({ proven: false, modified: false, releasableClaims: [] });
  });

  it('our own pod whose containers were changed since is modified, not proven', () => {
    const claims = [aClaim(set, 3)];
    const pod = aDrainPod(set, 3, claims, { phase: 'Succeeded' });
    pod.spec!.containers[0]!.image = 'attacker/image';
    expect(at(observeOrdinals(set, claims, [pod]), 3)!.drainPod).toMatchObject({ proven: false, modified: true, releasableClaims: [] });
  });

  it('a drain pod being deleted is terminating', () => {
    const claims = [aClaim(set, 3)];
    const pod = aDrainPod(set, 3, claims);
    pod.metadata!.deletionTimestamp = NOW;
    expect(at(observeOrdinals(set, claims, [pod]), 3)!.drainPod!.terminating).toBe(true);
  });

  it('one claim keeping the pod as ended is enough', () => {
    const ended = aClaim(set, 3, { annotations: { [ENDED_DRAIN_POD_ANNOTATION]: 'uid-drain-3-1' } });
    const other = aClaim(set, 3, { template: 'logs' });
    const pod = aDrainPod(set, 3, [ended, other], { record: false });
    expect(at(observeOrdinals(set, [ended, other], [pod]), 3)!.drainPod!.ended).toBe(true);
  });
});
