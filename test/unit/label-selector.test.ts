// Label selectors as the API server evaluates them: the planner uses them to refuse a drain pod template that
// the StatefulSet controller would adopt, and to tell the set's claims by their labels.
import { hasLabels, selectorMatches } from '../../src/planner/label-selector.ts';

describe('selectorMatches', () => {
  const labels = { app: 'db', tier: 'data' };
  it.each([
    ['no selector', undefined, true],
    ['an empty selector', {}, true],
    ['matching matchLabels', { matchLabels: { app: 'db' } }, true],
    ['a matchLabels value that differs', { matchLabels: { app: 'db', tier: 'cache' } }, false],
    ['In, value listed', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['cache', 'data'] }] }, true],
    ['In, value not listed', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['cache'] }] }, false],
    ['In, key absent', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    ['In, no values', { matchExpressions: [{ key: 'tier', operator: 'In' }] }, false],
    ['NotIn, value listed', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['data'] }] }, false],
    ['NotIn, value not listed', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['cache'] }] }, true],
    ['NotIn, key absent', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    ['NotIn, no values', { matchExpressions: [{ key: 'tier', operator: 'NotIn' }] }, true],
    ['Exists, present', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    ['Exists, absent', { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, false],
    ['DoesNotExist, absent', { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, true],
    ['DoesNotExist, present', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
    ['an unknown operator', { matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] }, false],
    ['every expression must hold', { matchExpressions: [{ key: 'app', operator: 'Exists' }, { key: 'zone', operator: 'Exists' }] }, false],
  ])('%s: %s', (_what, selector, matches) => {
    expect(selectorMatches(selector, labels)).toBe(matches);
  });

  it('an object without labels matches only selectors that ask for nothing present', () => {
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, undefined)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'db' } }, undefined)).toBe(false);
  });

  it('a key that is only inherited is not a label', () => {
    expect(selectorMatches({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, {})).toBe(false);
  });
});

describe('hasLabels', () => {
  it('every label of the subset, with the same value', () => {
    expect(hasLabels({ app: 'db', tier: 'data' }, { app: 'db' })).toBe(true);
    expect(hasLabels({ app: 'db' }, { app: 'db', tier: 'data' })).toBe(false);
    expect(hasLabels({ app: 'web' }, { app: 'db' })).toBe(false);
    expect(hasLabels(undefined, { app: 'db' })).toBe(false);
    expect(hasLabels(undefined, {})).toBe(true);
  });
});
