// The cache's indexes and what trimming shares between objects: fewer copies, the same answers.
import { claimIndex, shareLabels, statefulPodIndex } from '../../src/controller/cluster-cache.ts';
import { ClaimSlot, claimSlots, StatefulPodSlot, statefulPodSlots } from '../../src/controller/cache-slots.ts';
import { trimClaim, trimPod, trimStatefulSet } from '../../src/controller/trim.ts';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { aSet, NOW } from './fixtures.ts';

const asJson = (objs: unknown[]) => objs.map((o) => JSON.parse(JSON.stringify(o)) as unknown);
const claimOf = (name: string, extra: Record<string, unknown> = {}): V1PersistentVolumeClaim => trimClaim({
  metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: '41', labels: { app: 'db' }, ...extra },
  spec: { volumeName: 'pv' }, status: { phase: 'Bound' },
});

describe('the claim index', () => {
  it('adds, replaces and removes by name, whatever the order, and keeps the order they came in', () => {
    const index = claimIndex();
    // Claims between drains (kept as slots) and claims with our records (kept whole), mixed.
    const claims = Array.from({ length: 20 }, (_, o) => claimOf(`data-db-${o}`,
      o % 5 === 4 ? { annotations: { 'drain.statefulsets.kubernetes.io/x': 'y' } } : {}));
    for (const claim of claims) expect(index.apply('add', claim)).toEqual(['ns/data-db']);
    expect(asJson(index.get('ns/data-db'))).toEqual(asJson(claims));
    const renewed = claimOf('data-db-3', { annotations: { 'drain.statefulsets.kubernetes.io/x': 'y' } });
    index.apply('update', renewed);
    index.apply('update', claimOf('data-db-0', { uid: 'first-again' }));
    index.apply('update', claimOf('data-db-4'));
    expect(index.get('ns/data-db')).toHaveLength(20);
    expect(index.get('ns/data-db')[3]).toEqual(renewed);
    expect(index.get('ns/data-db')[0]!.metadata!.uid).toBe('first-again');
    expect(index.get('ns/data-db')[4]!.metadata!.annotations).toBeUndefined();
    index.apply('delete', claimOf('data-db-25'));
    expect(index.get('ns/data-db')).toHaveLength(20);
    for (const o of [0, 19, 7]) index.apply('delete', claims[o]!);
    // In the order they came: a plan names an ordinal's claims in it, and its event keys with them.
    expect(index.get('ns/data-db').map((c) => c.metadata?.name))
      .toEqual(claims.filter((_, o) => ![0, 19, 7].includes(o)).map((c) => c.metadata?.name));
    for (const claim of claims) index.apply('delete', claim);
    expect(index.get('ns/data-db')).toEqual([]);
  });

  it('gives back every claim as the trimmed claim it was, whether a slot holds it or not', () => {
    const index = claimIndex();
    const claims = [
      claimOf('data-db-0'), claimOf('data-db-1', { resourceVersion: '1073741824' }),
      claimOf('data-db-2', { resourceVersion: 'opaque' }),
      claimOf('data-db-3', { resourceVersion: '007' }), claimOf('data-db-4', { labels: undefined }),
      claimOf('data-db-5', { deletionTimestamp: NOW }),
      claimOf('data-db-6', { annotations: { 'drain.statefulsets.kubernetes.io/x': 'y' } }),
      claimOf('data-db-7', { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u' }] }),
      claimOf('data-db-8', { uid: undefined }), claimOf('data-db-9', { resourceVersion: undefined }), claimOf('data-db-1073741824'),
    ];
    for (const claim of claims) index.apply('add', claim);
    expect(asJson(index.get('ns/data-db'))).toEqual(asJson(claims));
    // The same fields in the same order: no field given back as undefined that the claim did not have.
    expect(index.get('ns/data-db').map((c) => Object.keys(c.metadata!))).toEqual(claims.map((c) => Object.keys(c.metadata!)));
    expect(index.get('ns/data-db')[5]!.metadata!.deletionTimestamp).toEqual(NOW);
    const slotted = claims.map((c) => claimSlots.pack(c, 'ns', 'data-db') !== undefined);
    expect(slotted).toEqual([true, true, true, true, true, false, false, false, false, false, false]);
  });

  it('keeps a claim whose name or namespace the slot would not spell again as it is', () => {
    for (const name of ['data-db-01', 'data-db-+1', 'data-db-1e3', 'data-db- 1', 'data-db-', 'data-db-1.5', 'data-db--1', 'data-xb-1']) {
      expect(claimSlots.pack(claimOf(name), 'ns', 'data-db')).toBeUndefined();
    }
    expect(claimSlots.pack({ metadata: undefined }, 'ns', 'data-db')).toBeUndefined();
    expect(claimSlots.pack(claimOf('data-db-1'), 'other', 'data-db')).toBeUndefined();
    expect(claimSlots.pack(claimOf('data-db-1'), 'ns', 'data-db')).toEqual(new ClaimSlot(1, 'uid-data-db-1', 41, { app: 'db' }));
  });

  it('a claim with its neighbour\'s labels keeps one copy of them; a claim with other labels keeps its own', () => {
    const index = claimIndex();
    const first = claimOf('data-db-0', { labels: { app: 'db', tier: 'a' } });
    const second = claimOf('data-db-1', { labels: { app: 'db', tier: 'a' } });
    const differing = claimOf('data-db-2', { labels: { app: 'db', tier: 'b' } });
    const fewer = claimOf('data-db-3', { labels: { app: 'db' } });
    const none = claimOf('data-db-4', { labels: undefined });
    for (const claim of [first, second, differing, fewer, none]) index.apply('add', claim);
    const [a, b, c, d, e] = index.get('ns/data-db');
    expect(b!.metadata!.labels).toBe(a!.metadata!.labels);
    expect(() => {
      b!.metadata!.labels!.app = 'changed';
    }).toThrow(TypeError);
    expect(c!.metadata!.labels).toEqual({ app: 'db', tier: 'b' });
    expect(d!.metadata!.labels).toEqual({ app: 'db' });
    expect(e!.metadata!.labels).toBeUndefined();
    expect(a!.metadata!.labels).toEqual({ app: 'db', tier: 'a' });
  });

  it('shares labels only when equal both ways', () => {
    const labelsOf = (labels?: Record<string, string>) => ({ metadata: { name: 'x', labels } });
    for (const [mine, theirs] of [[{ a: '1' }, { a: '1', b: '2' }], [{ a: '1', b: '2' }, { a: '1' }], [{ a: '1' }, { a: '2' }],
      [{ a: '1' }, undefined]] as const) {
      const claim = labelsOf(mine);
      shareLabels(claim, labelsOf(theirs));
      expect(claim.metadata.labels).toBe(mine);
    }
    const claim = labelsOf({ a: '1' });
    const neighbour = labelsOf({ a: '1' });
    shareLabels(claim, neighbour);
    expect(claim.metadata.labels).toBe(neighbour.metadata.labels);
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

describe('the stateful pod index', () => {
  const metadataOnly = (name: string, extra: Record<string, unknown> = {}) =>
    trimPod({ metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: '9', labels: { app: 'db' }, ...extra } });

  it('gives back every pod as the trimmed pod it was, in the order they came', () => {
    const index = statefulPodIndex();
    const pods = [
      metadataOnly('db-0'), metadataOnly('db-1', { deletionTimestamp: NOW }), metadataOnly('db-12'),
      metadataOnly('db-1073741824'), metadataOnly('db-99999999999999999999'), metadataOnly('db-3', { uid: undefined }),
      trimPod({ metadata: { name: 'db-4', namespace: 'ns', uid: 'u4' }, status: { phase: 'Running' } }),
    ];
    for (const pod of pods) index.apply('add', pod);
    expect(asJson(index.get('ns/db'))).toEqual(asJson(pods));
    expect(index.get('ns/db')[0]).toEqual({ metadata: { name: 'db-0', namespace: 'ns', uid: 'uid-db-0' } });
    expect(index.get('ns/db')[1]!.metadata!.deletionTimestamp).toEqual(NOW);
    expect(pods.map((p) => statefulPodSlots.pack(p, 'ns', 'db') !== undefined)).toEqual([true, false, true, false, false, false, false]);
  });

  it('replaces and removes a pod kept as a slot by its name, and no other', () => {
    const index = statefulPodIndex();
    for (const name of ['db-0', 'db-1', 'db-2']) index.apply('add', metadataOnly(name));
    index.apply('update', metadataOnly('db-0', { uid: 'new' }));
    index.apply('delete', metadataOnly('db-1'));
    index.apply('delete', metadataOnly('db-7'));
    expect(index.get('ns/db').map((p) => [p.metadata?.name, p.metadata?.uid])).toEqual([['db-0', 'new'], ['db-2', 'uid-db-2']]);
    index.apply('update', metadataOnly('db-2', { deletionTimestamp: NOW }));
    expect(index.get('ns/db')[1]!.metadata!.deletionTimestamp).toEqual(NOW);
    for (const name of ['db-0', 'db-2']) index.apply('delete', metadataOnly(name));
    expect(index.get('ns/db')).toEqual([]);
  });

  it('keeps a pod whose name or namespace the slot would not spell again as it is', () => {
    for (const name of ['db-01', 'db-+1', 'db-1e3', 'db- 1', 'db-1.5', 'db--1', 'dc-1']) {
      expect(statefulPodSlots.pack(metadataOnly(name), 'ns', 'db')).toBeUndefined();
    }
    expect(statefulPodSlots.pack(metadataOnly('db-1'), 'other', 'db')).toBeUndefined();
    expect(statefulPodSlots.pack(metadataOnly('db-1'), 'ns', 'db')).toEqual(new StatefulPodSlot(1, 'uid-db-1'));
  });
});
