// The cache's index and what trimming shares between objects: fewer copies, the same answers.
import { NameIndex, shareLabels } from '../../src/controller/cluster-cache.ts';
import { trimClaim, trimStatefulSet } from '../../src/controller/trim.ts';
import { candidateSetNamesOfClaim } from '../../src/planner/identity.ts';
import { aClaim, aSet } from './fixtures.ts';

const set = aSet({ replicas: 1 });
const names = (objs: Array<{ metadata?: { name?: string } }>) => objs.map((o) => o.metadata?.name).sort();

describe('the claim index', () => {
  it('adds, replaces and removes by name, whatever the order', () => {
    const index = new NameIndex(candidateSetNamesOfClaim, shareLabels);
    const claims = Array.from({ length: 20 }, (_, o) => trimClaim(aClaim(set, o)));
    for (const claim of claims) expect(index.apply('add', claim)).toEqual(['ns/db']);
    expect(names(index.get('ns/db'))).toEqual(names(claims));
    const renewed = trimClaim(aClaim(set, 3, { annotations: { 'drain.statefulsets.kubernetes.io/x': 'y' } }));
    index.apply('update', renewed);
    expect(index.get('ns/db')).toHaveLength(20);
    expect(index.get('ns/db').find((c) => c.metadata?.name === 'data-db-3')).toBe(renewed);
    for (const o of [0, 19, 7]) index.apply('delete', claims[o]!);
    // In the order they came: a plan names an ordinal's claims in it, and its event keys with them.
    expect(index.get('ns/db').map((c) => c.metadata?.name))
      .toEqual(claims.filter((_, o) => ![0, 19, 7].includes(o)).map((c) => c.metadata?.name));
    for (const claim of claims) index.apply('delete', claim);
    expect(index.get('ns/db')).toEqual([]);
  });

  it('a claim with its neighbour\'s labels keeps one copy of them; a claim with other labels keeps its own', () => {
    const index = new NameIndex(candidateSetNamesOfClaim, shareLabels);
    const first = trimClaim(aClaim(set, 0));
    const second = trimClaim(aClaim(set, 1));
    const other = trimClaim(aClaim(set, 2, { labels: { app: 'other' } }));
    for (const claim of [first, second, other]) index.apply('add', claim);
    expect(second.metadata!.labels).toBe(first.metadata!.labels);
    expect(() => {
      second.metadata!.labels!.app = 'changed';
    }).toThrow(TypeError);
    expect(other.metadata!.labels).toEqual({ app: 'other' });
    expect(first.metadata!.labels).toEqual(aClaim(set, 0).metadata!.labels);
  });
});

describe('trimmed StatefulSets', () => {
  it('share the parts sets have alike, and still read as the sets they are', () => {
    const [a, b] = [aSet({ name: 'a', replicas: 2 }), aSet({ name: 'b', replicas: 5 })].map(trimStatefulSet);
    expect(a!.spec!.volumeClaimTemplates).toBe(b!.spec!.volumeClaimTemplates);
    expect(a!.spec!.template).toBe(b!.spec!.template);
    expect(a!.metadata!.annotations).toBe(b!.metadata!.annotations);
    expect([a!.metadata!.name, a!.spec!.replicas, b!.metadata!.name, b!.spec!.replicas]).toEqual(['a', 2, 'b', 5]);
    expect(a!.spec!.selector).toEqual(aSet({ name: 'a' }).spec!.selector);
    expect(b!.spec!.volumeClaimTemplates).toEqual([{ metadata: { name: 'data' } }]);
  });

  it('a shared part cannot be changed in place (it would change every set that holds it)', () => {
    const trimmed = trimStatefulSet(aSet({ name: 'c', finalizers: ['example.com/hold'] }));
    expect(() => {
      trimmed.spec!.volumeClaimTemplates![0]!.metadata!.name = 'other';
    }).toThrow(TypeError);
    expect(() => {
      trimmed.metadata!.finalizers!.push('x');
    }).toThrow(TypeError);
  });
});
