import { candidateSetNameOfPod, candidateSetNamesOfClaim, identifyClaim, ordinalOfName } from '../../src/planner/identity.ts';
import { selectorMatches } from '../../src/planner/label-selector.ts';
import { aClaim, aSet } from './fixtures.ts';

describe('identity', () => {
  it('index keys of a claim cover every possible set name', () => {
    expect(candidateSetNamesOfClaim('data-a-b-0')).toEqual(['a-b', 'b']);
    expect(candidateSetNamesOfClaim('data-0')).toEqual([]);
    expect(candidateSetNamesOfClaim('data-web-x')).toEqual([]);
  });

  it('index key of a pod', () => {
    expect(candidateSetNameOfPod('web-12')).toBe('web');
    expect(candidateSetNameOfPod('web-012')).toBeUndefined();
  });

  it('ordinals are plain decimals', () => {
    expect(ordinalOfName('web-3', 'web')).toBe(3);
    expect(ordinalOfName('web-03', 'web')).toBeUndefined();
    expect(ordinalOfName('web-3-x', 'web')).toBeUndefined();
    expect(ordinalOfName('webx-3', 'web')).toBeUndefined();
  });

  it('identifies a claim by name and labels together', () => {
    const set = aSet({ templates: ['data', 'logs'] });
    expect(identifyClaim(set, aClaim(set, 5, { template: 'logs' }))).toEqual({ template: 'logs', ordinal: 5 });
    expect(identifyClaim(set, aClaim(set, 5, { labels: {} }))).toBeUndefined();
    expect(identifyClaim(set, { ...aClaim(set, 5), metadata: { ...aClaim(set, 5).metadata, namespace: 'other' } })).toBeUndefined();
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
