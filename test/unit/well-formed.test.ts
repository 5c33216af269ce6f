// The shapes the planner relies on: a pod or claim without them is left out of the plan (and the set's other
// objects still planned) instead of throwing in the middle of it.
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { wellFormedClaim, wellFormedPod } from '../../src/planner/well-formed.ts';
import { aClaim, copyOf, aDrainPod, aSet, aStatefulPod } from './fixtures.ts';

const set = aSet();
const pod = aDrainPod(set, 3, [aClaim(set, 3)]);

/** `base` with `value` at `where` (a path of keys). */
function withField<T>(base: T, where: Array<string | number>, value: unknown): T {
  const copy = copyOf(base) as Record<string | number, unknown>;
  let at = copy;
  for (const key of where.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  at[where.at(-1)!] = value;
  return copy as T;
}

describe('well-formed objects', () => {
  it('what the API server sends passes: drain pods, stateful pods, claims, with optional fields absent', () => {
    expect(wellFormedPod(pod)).toBe(true);
    expect(wellFormedPod(aStatefulPod(set, 0))).toBe(true);
    expect(wellFormedPod({ metadata: { name: 'db-0' } })).toBe(true);
    expect(wellFormedPod(withField(pod, ['metadata', 'creationTimestamp'], '2026-01-01T00:00:00Z'))).toBe(true);
    // The tables below change one field of a copy: the copy itself must pass, or they prove nothing.
    expect(wellFormedPod(withField(pod, ['metadata', 'name'], 'db-3'))).toBe(true);
    expect(wellFormedClaim(withField(aClaim(set, 3), ['metadata', 'name'], 'data-db-3'))).toBe(true);
    expect(wellFormedClaim(aClaim(set, 3))).toBe(true);
    expect(wellFormedClaim({ metadata: { name: 'data-db-3' } })).toBe(true);
  });

  it.each([
    ['no metadata', ['metadata'], undefined],
    ['metadata a list', ['metadata'], []],
    ['no name', ['metadata', 'name'], undefined],
    ['a numeric namespace', ['metadata', 'namespace'], 1],
    ['a numeric uid', ['metadata', 'uid'], 1],
    ['a label that is not a string', ['metadata', 'labels'], { a: 1 }],
    ['labels a list', ['metadata', 'labels'], ['a']],
    ['annotations null', ['metadata', 'annotations'], null],
    ['owner references not a list', ['metadata', 'ownerReferences'], {}],
    ['an owner reference without a uid', ['metadata', 'ownerReferences'], [{ kind: 'StatefulSet' }]],
    ['an owner reference without a kind', ['metadata', 'ownerReferences'], [{ uid: 'u' }]],
    ['an owner reference with a numeric name', ['metadata', 'ownerReferences'], [{ uid: 'u', kind: 'StatefulSet', name: 1 }]],
    ['a numeric deletion time', ['metadata', 'deletionTimestamp'], 5],
    ['a numeric creation time', ['metadata', 'creationTimestamp'], 5],
  ])('a pod or claim with %s is left out', (_what, where, value) => {
    expect(wellFormedPod(withField(pod, where, value))).toBe(false);
    expect(wellFormedClaim(withField(aClaim(set, 3), where, value) as V1PersistentVolumeClaim)).toBe(false);
  });

  it.each([
    ['spec a string', ['spec'], 'x'],
    ['volumes not a list', ['spec', 'volumes'], {}],
    ['a volume without a name', ['spec', 'volumes', 0, 'name'], undefined],
    ['a claim volume without a claim name', ['spec', 'volumes', 0], { name: 'data', persistentVolumeClaim: {} }],
    ['containers not a list', ['spec', 'containers'], 'c'],
    ['a container with a numeric name', ['spec', 'containers', 0, 'name'], 7],
    ['a mount without a name', ['spec', 'containers', 0, 'volumeMounts'], [{ mountPath: '/data' }]],
    ['a mount with a numeric path', ['spec', 'containers', 0, 'volumeMounts'], [{ name: 'data', mountPath: 1 }]],
    ['init containers not a list', ['spec', 'initContainers'], {}],
    ['ephemeral containers not a list', ['spec', 'ephemeralContainers'], {}],
    ['status a list', ['status'], []],
    ['a numeric phase', ['status', 'phase'], 1],
    ['a numeric start time', ['status', 'startTime'], 1],
  ])('a pod with %s is left out', (_what, where, value) => {
    expect(wellFormedPod(withField(pod, where, value))).toBe(false);
  });

  it('a pod or claim that is not an object is left out', () => {
    expect(wellFormedPod(null as unknown as V1Pod)).toBe(false);
    expect(wellFormedClaim('claim' as unknown as V1PersistentVolumeClaim)).toBe(false);
  });
});
