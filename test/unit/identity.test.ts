import type { V1StatefulSet } from '@kubernetes/client-node';
import {
  ordinalStem, candidateSetNamesOfClaim, claimLabels, claimName, claimTemplateNames, drainPodOrdinal, identifyClaim, inRange,
  isDrainPodOf, ordinalOfName, ordinalRange, ownedByOrOrphaned, spellsClaim,
} from '../../src/planner/identity.ts';
import { ORDINAL_LABEL, ROLE_LABEL, ROLE_PLACEHOLDER, SET_LABEL } from '../../src/planner/keys.ts';
import { selectorMatches } from '../../src/planner/label-selector.ts';
import { aClaim, aDrainPod, aSet, aStatefulPod } from './fixtures.ts';

const owner = (kind: string, uid: string) => ({ apiVersion: 'apps/v1', kind, name: 'x', uid });

describe('identity', () => {
  it('index keys of a claim cover every possible set name', () => {
    expect(candidateSetNamesOfClaim('data-a-b-0')).toEqual(['a-b', 'b']);
    expect(candidateSetNamesOfClaim('data-0')).toEqual([]);
    expect(candidateSetNamesOfClaim('data-web-x')).toEqual([]);
    expect(candidateSetNamesOfClaim('data-web-1x')).toEqual([]);
    expect(candidateSetNamesOfClaim('data-web-123')).toEqual(['web']);
    // A stem ending in a dash gives no empty set name.
    expect(candidateSetNamesOfClaim('data--0')).toEqual([]);
    expect(candidateSetNamesOfClaim('-web-0')).toEqual(['web']);
  });

  it('index key of a pod', () => {
    expect(ordinalStem('web-12')).toBe('web');
    expect(ordinalStem('web-012')).toBeUndefined();
    expect(ordinalStem('my-web-105')).toBe('my-web');
    expect(ordinalStem('12')).toBeUndefined();
    expect(ordinalStem('-3')).toBe('');
  });

  it('ordinals are plain decimals', () => {
    expect(ordinalOfName('web-3', 'web')).toBe(3);
    expect(ordinalOfName('web-03', 'web')).toBeUndefined();
    expect(ordinalOfName('web-3-x', 'web')).toBeUndefined();
    expect(ordinalOfName('webx-3', 'web')).toBeUndefined();
    expect(ordinalOfName('db-12', 'web')).toBeUndefined();
  });

  it('names and ranges as the StatefulSet controller spells them, with the API defaults', () => {
    expect(claimName('data', 'web', 3)).toBe('data-web-3');
    expect(ordinalRange(aSet({ replicas: 2, start: 5 }))).toEqual({ start: 5, end: 7 });
    const defaults: V1StatefulSet = { metadata: { name: 'web' }, spec: { selector: {}, template: {}, serviceName: 'web' } };
    expect(ordinalRange(defaults)).toEqual({ start: 0, end: 1 });
    expect(ordinalRange({ metadata: { name: 'web' } })).toEqual({ start: 0, end: 1 });
    expect(claimLabels(defaults)).toEqual({});
    expect(claimLabels({ metadata: { name: 'web' } })).toEqual({});
    expect(claimLabels({ metadata: { name: 'web' }, spec: {} } as V1StatefulSet)).toEqual({});
    expect(claimTemplateNames({ metadata: { name: 'web' } })).toEqual([]);
    expect(claimTemplateNames(defaults)).toEqual([]);
  });

  it('the range runs from the first ordinal up to, not including, start + replicas', () => {
    const set = aSet({ replicas: 2, start: 5 });
    expect([4, 5, 6, 7].map((ordinal) => inRange(set, ordinal))).toEqual([false, true, true, false]);
  });

  it('claim templates without a name spell no claim', () => {
    const set = aSet({ templates: ['data'] });
    set.spec!.volumeClaimTemplates!.push({ spec: {} }, { metadata: {}, spec: {} });
    expect(claimTemplateNames(set)).toEqual(['data']);
  });

  it('identifies a claim by name and labels together', () => {
    const set = aSet({ templates: ['data', 'logs'] });
    expect(identifyClaim(set, aClaim(set, 5, { template: 'logs' }))).toEqual({ template: 'logs', ordinal: 5 });
    expect(identifyClaim(set, aClaim(set, 5, { labels: {} }))).toBeUndefined();
    expect(identifyClaim(set, { ...aClaim(set, 5), metadata: { ...aClaim(set, 5).metadata, namespace: 'other' } })).toBeUndefined();
  });

  it('a claim owned by its set (whenDeleted: Delete) or by something else is the set\'s; one owned by another set is not', () => {
    const set = aSet();
    const owned = (...refs: ReturnType<typeof owner>[]) => {
      const claim = aClaim(set, 4);
      claim.metadata!.ownerReferences = refs;
      return identifyClaim(set, claim);
    };
    expect(owned(owner('StatefulSet', 'uid-db'))).toEqual({ template: 'data', ordinal: 4 });
    expect(owned(owner('ConfigMap', 'uid-other'))).toEqual({ template: 'data', ordinal: 4 });
    expect(owned(owner('StatefulSet', 'uid-other'))).toBeUndefined();
    expect(owned(owner('StatefulSet', 'uid-db'), owner('StatefulSet', 'uid-other'))).toBeUndefined();
  });

  it('a claim is spelled only by a template, the set\'s name and a plain ordinal', () => {
    const set = aSet({ name: 'web', templates: ['data'] });
    const named = (name: string) => ({ metadata: { name, namespace: 'ns' } });
    expect(spellsClaim(set, named('data-web-7'))).toEqual({ template: 'data', ordinal: 7 });
    expect(spellsClaim(set, named('data-web-x'))).toBeUndefined();
    expect(spellsClaim(set, named('data-web-07'))).toBeUndefined();
    expect(spellsClaim(set, named('logs-web-7'))).toBeUndefined();
  });

  it('a pod owned by another StatefulSet is not this set\'s; no owner, or owners of other kinds, leave it open', () => {
    const set = aSet();
    expect(ownedByOrOrphaned(undefined, set)).toBe(true);
    expect(ownedByOrOrphaned({}, set)).toBe(true);
    expect(ownedByOrOrphaned({ ownerReferences: [] }, set)).toBe(true);
    expect(ownedByOrOrphaned({ ownerReferences: [owner('ReplicaSet', 'uid-other')] }, set)).toBe(true);
    expect(ownedByOrOrphaned({ ownerReferences: [owner('StatefulSet', 'uid-db')] }, set)).toBe(true);
    expect(ownedByOrOrphaned({ ownerReferences: [owner('StatefulSet', 'uid-other')] }, set)).toBe(false);
  });

  it('a drain pod\'s ordinal is the one its name and its ordinal label agree on', () => {
    const set = aSet({ replicas: 1 });
    const pod = aDrainPod(set, 3, [aClaim(set, 3)]);
    expect(isDrainPodOf(pod, set)).toBe(true);
    expect(drainPodOrdinal(pod, set)).toBe(3);
    pod.metadata!.labels![ORDINAL_LABEL] = '4';
    expect(drainPodOrdinal(pod, set)).toBeUndefined();
    delete pod.metadata!.labels;
    expect(drainPodOrdinal(pod, set)).toBeUndefined();
    expect(isDrainPodOf(pod, set)).toBe(false);
    const renamed = { ...pod, metadata: { ...pod.metadata, name: 'other-3', labels: { [ORDINAL_LABEL]: '3' } } };
    expect(drainPodOrdinal(renamed, set)).toBeUndefined();
    expect(isDrainPodOf(aStatefulPod(set, 0), set)).toBe(false);
  });

  it('a drain pod of this set has the drainer role, this set\'s label, and no other set as its owner', () => {
    const set = aSet({ replicas: 1 });
    const drainPod = () => aDrainPod(set, 3, [aClaim(set, 3)]);
    const otherRole = drainPod();
    otherRole.metadata!.labels![ROLE_LABEL] = ROLE_PLACEHOLDER;
    const otherSet = drainPod();
    otherSet.metadata!.labels![SET_LABEL] = 'web';
    const ownedElsewhere = drainPod();
    ownedElsewhere.metadata!.ownerReferences = [owner('StatefulSet', 'uid-web')];
    const orphaned = drainPod();
    delete orphaned.metadata!.ownerReferences;
    expect([drainPod(), otherRole, otherSet, ownedElsewhere, orphaned].map((pod) => isDrainPodOf(pod, set)))
      .toEqual([true, false, false, false, true]);
  });

  it('selector semantics', () => {
    const sel = { matchLabels: { a: '1' },
      matchExpressions: [{ key: 'b', operator: 'In', values: ['x'] }, { key: 'c', operator: 'DoesNotExist' }] };
    expect(selectorMatches(sel, { a: '1', b: 'x' })).toBe(true);
    expect(selectorMatches(sel, { a: '1', b: 'y' })).toBe(false);
    expect(selectorMatches(sel, { a: '1', b: 'x', c: '' })).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'b', operator: 'NotIn', values: ['x'] }] }, {})).toBe(true);
  });
});
