// The release proof on its own: each condition, broken alone, refuses the release, and odd objects are
// refused rather than thrown on. (StrykerJS mutates this module in CI: npm run test:mutation:proof.)
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { CLAIMS_ANNOTATION, DRAIN_POD_ANNOTATION, DRAIN_POD_CONTAINERS_ANNOTATION, DRAINED_ANNOTATION, ORDINAL_LABEL, ROLE_LABEL,
  SET_LABEL } from '../../src/planner/keys.ts';
import { buildPlaceholder } from '../../src/planner/placeholder.ts';
import {
  containersDigest, drainedBy, drainedRecord, drainPodRecord, generationOf, recordsPod, recordsPodUid, whyNotBound, whyNotDeletable,
  whyNotDrained, whyNotReleasable,
} from '../../src/planner/release-proof.ts';
import { aClaim, aDrainPod, aSet } from './fixtures.ts';

const set = aSet({ replicas: 2 });

/** Ordinal 2's claim and its Succeeded drain pod, recorded on the claim as the executor records it. */
function proven(): { pod: V1Pod; claim: V1PersistentVolumeClaim } {
  const claim = aClaim(set, 2);
  const pod = aDrainPod(set, 2, [claim], { phase: 'Succeeded' });
  return { pod, claim };
}

describe('the release proof', () => {
  it('a Succeeded drain pod of the ordinal, recorded on its claim, listing and mounting it: releasable', () => {
    const { pod, claim } = proven();
    expect(whyNotBound(set, 2, pod, claim)).toBeUndefined();
    expect(whyNotReleasable(set, 2, pod.metadata!.uid!, pod, claim)).toBeUndefined();
  });

  const refusals: Array<[string, (p: { pod: V1Pod; claim: V1PersistentVolumeClaim }) => void, RegExp]> = [
    ['the claim is being deleted', ({ claim }) => { claim.metadata!.deletionTimestamp = new Date(); }, /claim data-db-2 is being deleted/],
    ['the claim lacks the set\'s selector labels', ({ claim }) => { claim.metadata!.labels = { app: 'other' }; },
      /not the StatefulSet's claim of ordinal 2/],
    ['the pod is in another namespace', ({ pod }) => { pod.metadata!.namespace = 'elsewhere'; },
      /pod db-2 is not a drain pod of ordinal 2/],
    ['the pod lacks the drain role label', ({ pod }) => { delete pod.metadata!.labels![ROLE_LABEL]; },
      /pod db-2 is not a drain pod of ordinal 2/],
    ['the pod names another set', ({ pod }) => { pod.metadata!.labels![SET_LABEL] = 'other'; }, /pod db-2 is not a drain pod of ordinal 2/],
    ['the pod\'s ordinal label disagrees with its name', ({ pod }) => { pod.metadata!.labels![ORDINAL_LABEL] = '1'; },
      /pod db-2 is not a drain pod of ordinal 2/],
    ['the claim records another pod', ({ claim }) => { claim.metadata!.annotations![DRAIN_POD_ANNOTATION] = 'another-pod'; },
      /does not record pod db-2/],
    ['the claim records no pod', ({ claim }) => { claim.metadata!.annotations = {}; }, /does not record pod db-2/],
    ['the pod\'s image was changed', ({ pod }) => { pod.spec!.containers[0]!.image = 'busybox:evil'; },
      /containers of drain pod db-2 were changed/],
    ['the digest recorded is another',
      ({ claim }) => { claim.metadata!.annotations![DRAIN_POD_CONTAINERS_ANNOTATION] = 'x'; }, /were changed/],
    ['the pod lists the claim under another UID', ({ pod }) => {
      pod.metadata!.annotations![CLAIMS_ANNOTATION] = JSON.stringify([{ name: 'data-db-2', uid: 'an-earlier-claim' }]);
    }, /does not list claim data-db-2/],
    ['the pod lists the claim\'s UID under another name', ({ pod, claim }) => {
      pod.metadata!.annotations![CLAIMS_ANNOTATION] = JSON.stringify([{ name: 'data-db-1', uid: claim.metadata!.uid }]);
    }, /does not list claim data-db-2/],
    ['the pod lists but does not mount the claim', ({ pod }) => {
      pod.spec!.volumes = [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-1' } }];
    }, /does not mount claim data-db-2/],
  ];

  it.each(refusals)('refused when %s', (_name, change, why) => {
    const p = proven();
    change(p);
    expect(whyNotBound(set, 2, p.pod, p.claim)).toMatch(why);
    expect(whyNotReleasable(set, 2, p.pod.metadata!.uid!, p.pod, p.claim)).toMatch(why);
  });

  it('refused for another ordinal than the one the pod and claim are of', () => {
    const { pod, claim } = proven();
    expect(whyNotBound(set, 3, pod, claim)).toMatch(/not the StatefulSet's claim of ordinal 3/);
  });

  it('at the last step: the pod gone, replaced under its name, or not Succeeded', () => {
    const { pod, claim } = proven();
    expect(whyNotReleasable(set, 2, pod.metadata!.uid!, undefined, claim)).toBe('its drain pod no longer exists');
    expect(whyNotReleasable(set, 2, 'the-plans-pod', pod, claim)).toBe('its drain pod no longer exists');
    expect(whyNotReleasable(set, 2, pod.metadata!.uid!, { ...pod, status: { phase: 'Running' } }, claim))
      .toBe('drain pod db-2 has not Succeeded (Running)');
    expect(whyNotReleasable(set, 2, pod.metadata!.uid!, { ...pod, status: {} }, claim)).toBe('drain pod db-2 has not Succeeded (no phase)');
  });

  it('a pod without a UID proves nothing, even against a claim whose record is empty', () => {
    const { pod, claim } = proven();
    delete pod.metadata!.uid;
    expect(drainPodRecord(pod)[DRAIN_POD_ANNOTATION]).toBe('');
    claim.metadata!.annotations = drainPodRecord(pod);
    expect(recordsPod(claim, pod)).toBe(false);
    expect(whyNotBound(set, 2, pod, claim)).toMatch(/does not record pod db-2/);
    pod.metadata!.uid = '';
    claim.metadata!.annotations = drainPodRecord(pod);
    expect(whyNotBound(set, 2, pod, claim)).toMatch(/does not record pod db-2/);
    expect(recordsPodUid({ metadata: {} }, { metadata: {} })).toBe(false);
  });

  it('objects without metadata, annotations or status are refused, not thrown on', () => {
    const { pod, claim } = proven();
    const bare: V1Pod = {};
    const bareClaim: V1PersistentVolumeClaim = {};
    expect(whyNotBound(set, 2, bare, claim)).toBeDefined();
    expect(whyNotBound(set, 2, pod, bareClaim)).toBeDefined();
    expect(whyNotBound({}, 2, pod, claim)).toBeDefined();
    expect(whyNotReleasable(set, 2, '', bare, claim)).toBeDefined();
    expect(whyNotReleasable(set, 2, pod.metadata!.uid!, { metadata: pod.metadata }, claim))
      .toBe('drain pod db-2 has not Succeeded (no phase)');
    expect(whyNotBound(set, 2, pod, { metadata: { ...claim.metadata, annotations: undefined } })).toMatch(/does not record/);
    const unrecordedButNamed = { metadata: { ...claim.metadata, annotations: { [DRAIN_POD_ANNOTATION]: pod.metadata!.uid! } } };
    expect(recordsPod(unrecordedButNamed, pod)).toBe(false);
    expect(recordsPod(bareClaim, pod)).toBe(false);
    expect(recordsPod(claim, bare)).toBe(false);
    expect(recordsPod({ metadata: {} }, { metadata: {} })).toBe(false);
    expect(drainPodRecord(bare)[DRAIN_POD_ANNOTATION]).toBe('');
  });

  describe('the container digest', () => {
    const digestAfter = (change: (pod: V1Pod) => void) => {
      const { pod } = proven();
      const before = containersDigest(pod);
      change(pod);
      return [before, containersDigest(pod)];
    };

    it.each<[string, (pod: V1Pod) => void]>([
      ['an image', (pod) => { pod.spec!.containers[0]!.image = 'other'; }],
      ['a command', (pod) => { pod.spec!.containers[0]!.command = ['true']; }],
      ['arguments', (pod) => { pod.spec!.containers[0]!.args = ['--skip-copy']; }],
      ['a working directory', (pod) => { pod.spec!.containers[0]!.workingDir = '/tmp'; }],
      ['a mount path', (pod) => { pod.spec!.containers[0]!.volumeMounts![0]!.mountPath = '/elsewhere'; }],
      ['a mount\'s sub-path', (pod) => { pod.spec!.containers[0]!.volumeMounts![0]!.subPath = 'empty'; }],
      ['a mount made read-only', (pod) => { pod.spec!.containers[0]!.volumeMounts![0]!.readOnly = true; }],
      ['an init container', (pod) => { pod.spec!.initContainers = [{ name: 'init', image: 'busybox' }]; }],
      ['an ephemeral container', (pod) => { pod.spec!.ephemeralContainers = [{ name: 'debug', image: 'busybox' }]; }],
      ['a container\'s name', (pod) => { pod.spec!.containers[0]!.name = 'other'; }],
    ])('changes with %s', (_what, change) => {
      const [before, after] = digestAfter(change);
      expect(after).not.toBe(before);
    });

    it('is the same for a pod read back with empty lists or extra fields the API server adds', () => {
      const [before, after] = digestAfter((pod) => {
        pod.spec!.initContainers = [];
        pod.spec!.containers[0]!.imagePullPolicy = 'IfNotPresent';
        pod.spec!.containers[0]!.terminationMessagePath = '/dev/termination-log';
      });
      expect(after).toBe(before);
    });
  });
});

describe('the proof that a drained claim may be deleted', () => {
  const drainedSet = aSet({ replicas: 2 });
  drainedSet.metadata!.generation = 6;
  /** Ordinal 2's claim, drained by pod p at generation 6, and the set's placeholder h holding db-2. */
  function drainedUnderPlaceholder(): { claim: V1PersistentVolumeClaim; placeholder: V1Pod } {
    const claim = aClaim(drainedSet, 2, { annotations: { [DRAIN_POD_ANNOTATION]: 'p', ...drainedRecord('p', 6) } });
    const placeholder = buildPlaceholder(drainedSet, 'drainer', 2);
    placeholder.metadata!.uid = 'h';
    return { claim, placeholder };
  }

  it('the record reads back what was written; odd values are no record', () => {
    expect(drainedRecord('p', 6)).toEqual({ [DRAINED_ANNOTATION]: 'p/6' });
    expect(drainedBy(drainedUnderPlaceholder().claim)).toEqual({ podUid: 'p', generation: 6 });
    for (const odd of ['', 'p', 'p/', '/6', 'p/06', 'p/6x', 'xp/6/7', 'p/-1', 'a/b/6']) {
      expect(drainedBy(aClaim(drainedSet, 2, { annotations: { [DRAINED_ANNOTATION]: odd } }))).toBeUndefined();
    }
    expect(drainedBy({})).toBeUndefined();
    expect(drainedBy({ metadata: {} })).toBeUndefined();
    expect(generationOf({})).toBe(0);
    expect(generationOf(drainedSet)).toBe(6);
  });

  it('drained, the set unchanged, the placeholder holding the name: deletable', () => {
    const { claim, placeholder } = drainedUnderPlaceholder();
    expect(whyNotDrained(drainedSet, 2, claim)).toBeUndefined();
    expect(whyNotDeletable(drainedSet, 2, 'h', placeholder, claim)).toBeUndefined();
  });

  const refusals: Array<[string, (p: { claim: V1PersistentVolumeClaim; placeholder: V1Pod }) => void, RegExp]> = [
    ['the claim is being deleted', ({ claim }) => { claim.metadata!.deletionTimestamp = new Date(); }, /claim data-db-2 is being deleted/],
    ['the claim is not the set\'s', ({ claim }) => { claim.metadata!.labels = { app: 'other' }; },
      /not the StatefulSet's claim of ordinal 2/],
    ['the claim records no drain', ({ claim }) => { delete claim.metadata!.annotations![DRAINED_ANNOTATION]; },
      /records no successful drain/],
    ['the drain recorded is not the claim\'s drain pod', ({ claim }) => { claim.metadata!.annotations![DRAIN_POD_ANNOTATION] = 'q'; },
      /is not its recorded drain pod/],
    ['the set changed since (a scale)', ({ claim }) => { Object.assign(claim.metadata!.annotations!, drainedRecord('p', 5)); },
      /changed since .* \(generation 5, now 6\)/],
    ['no placeholder', ({ placeholder }) => { placeholder.metadata!.uid = 'another'; }, /no placeholder holds ordinal 2's name/],
    ['the placeholder is being deleted', ({ placeholder }) => { placeholder.metadata!.deletionTimestamp = new Date(); }, /no placeholder/],
    ['the pod at the name mounts a claim', ({ placeholder }) => { placeholder.spec!.volumes = [{ name: 'd',
      persistentVolumeClaim: { claimName: 'data-db-2' } }]; }, /no placeholder/],
    ['the pod at the name mounts an ephemeral claim',
      ({ placeholder }) => { placeholder.spec!.volumes = [{ name: 'd', ephemeral: {} }]; }, /no placeholder/],
    ['the pod at the name is a drain pod',
      ({ placeholder }) => { placeholder.metadata!.labels![ROLE_LABEL] = 'drainer'; }, /no placeholder/],
    ['the pod at the name is of another set',
      ({ placeholder }) => { placeholder.metadata!.labels![SET_LABEL] = 'other'; }, /no placeholder/],
    ['the pod at the name is of another ordinal',
      ({ placeholder }) => { placeholder.metadata!.labels![ORDINAL_LABEL] = '3'; }, /no placeholder/],
    ['the pod at the name has another name', ({ placeholder }) => { placeholder.metadata!.name = 'db-3'; }, /no placeholder/],
    ['the pod at the name is in another namespace',
      ({ placeholder }) => { placeholder.metadata!.namespace = 'elsewhere'; }, /no placeholder/],
    ['the pod at the name is owned by another set',
      ({ placeholder }) => { placeholder.metadata!.ownerReferences![0]!.uid = 'other'; }, /no placeholder/],
  ];
  it.each(refusals)('refused when %s', (_name, change, why) => {
    const fixture = drainedUnderPlaceholder();
    change(fixture);
    expect(whyNotDeletable(drainedSet, 2, 'h', fixture.placeholder, fixture.claim)).toMatch(why);
  });

  it('refused for another ordinal, and without any placeholder; a placeholder with other volumes (a webhook\'s) still counts', () => {
    const { claim, placeholder } = drainedUnderPlaceholder();
    expect(whyNotDeletable(drainedSet, 1, 'h', placeholder, claim)).toMatch(/not the StatefulSet's claim of ordinal 1/);
    expect(whyNotDeletable(drainedSet, 2, 'h', undefined, claim)).toMatch(/no placeholder/);
    expect(whyNotDeletable(drainedSet, 2, 'h', {}, claim)).toMatch(/no placeholder/);
    expect(whyNotDrained(drainedSet, 2, {})).toMatch(/not the StatefulSet's claim of ordinal 2/);
    placeholder.spec!.volumes = [{ name: 'token', emptyDir: {} }];
    expect(whyNotDeletable(drainedSet, 2, 'h', placeholder, claim)).toBeUndefined();
    placeholder.metadata!.ownerReferences = undefined;
    expect(whyNotDeletable(drainedSet, 2, 'h', placeholder, claim)).toBeUndefined();
  });
});
