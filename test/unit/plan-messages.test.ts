// What a user reads: every event and every ordinal's state, failure count and reason that the planner produces,
// one situation at a time, beside the plan's actions and the set's gauges, against a committed snapshot
// (__snapshots__/plan-messages.test.ts.snap; `npm test` runs Jest with --ci, so a situation without one fails:
// write it with `-u` and read it). An event's text, reason and de-duplication key (one event per drain, not one per
// resync) and `status`'s columns are the controller's interface to the people running it; a change to any of
// them, or to what is done beside them, shows in review as a snapshot diff.
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import {
  DELAY_ANNOTATION, DRAIN_POD_ANNOTATION, ENDED_DRAIN_POD_ANNOTATION, FAILURES_ANNOTATION, FINALIZER, INHERIT_SCHEDULING_ANNOTATION,
  LAST_FAILURE_ANNOTATION, MAX_ATTEMPTS_ANNOTATION, ORPHANED_SINCE_ANNOTATION, RETRY_ANNOTATION, RETRY_TOKEN_ANNOTATION, ROLE_LABEL,
  TEMPLATE_ANNOTATION, TIMEOUT_ANNOTATION,
} from '../../src/planner/keys.ts';
import { planSet } from '../../src/planner/plan.ts';
import { buildPlaceholder } from '../../src/planner/placeholder.ts';
import { drainedRecord } from '../../src/planner/release-proof.ts';
import { parseDrainerTemplate } from '../../src/planner/template.ts';
import type { Action, Plan, TemplateVerdict } from '../../src/planner/types.ts';
import { ACCEPTED, NOW, aClaim, aDrainPod, aSet, aStatefulPod, recordDrainPod, settings, type SetShape } from './fixtures.ts';

interface Situation {
  set: V1StatefulSet;
  claims: V1PersistentVolumeClaim[];
  pods: V1Pod[];
  rivals?: V1StatefulSet[];
  verdict?: TemplateVerdict;
}

const fin = { finalizers: [FINALIZER] };
/** The sets' generation: the scale-down was their fourth change. */
const GENERATION = 4;
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const minutes = 60_000;

/** A set scaled from 3 to 1 (unless `shape` says otherwise), its replica 0 running, and `build`'s claims and pods for ordinal 2. */
function scaledDown(shape: SetShape, build: (set: V1StatefulSet) => { claims: V1PersistentVolumeClaim[]; pods: V1Pod[] }): Situation {
  const set = aSet({ replicas: 1, ...fin, ...shape });
  set.metadata!.generation = GENERATION;
  const { claims, pods } = build(set);
  return { set, claims: [aClaim(set, 0), ...claims], pods: [aStatefulPod(set, 0), ...pods] };
}

/** Ordinal 2's claim, annotated. */
const claim2 = (set: V1StatefulSet, annotations?: Record<string, string>) => aClaim(set, 2, { annotations });

/** Ordinal 2's drain pod (recorded on its claim) in `phase`. */
function draining(phase: string, shape: SetShape = {}, options: Parameters<typeof aDrainPod>[3] = {},
  annotations?: Record<string, string>): Situation {
  return scaledDown(shape, (set) => {
    const claim = claim2(set, annotations);
    return { claims: [claim], pods: [aDrainPod(set, 2, [claim], { phase, ...options })] };
  });
}

/** Ordinal 2 drained: its claim records the success of drain pod `uid-drained`, which is gone. */
function drained(shape: SetShape, pods: (set: V1StatefulSet) => V1Pod[] = () => [], generation = GENERATION): Situation {
  return scaledDown(shape, (set) => ({
    claims: [claim2(set, drainedBy('uid-drained', generation))],
    pods: pods(set),
  }));
}

/** Ordinal 2's drain pod in `phase`, its labels changed by someone who may patch pods (its UID still on the claim). */
function relabelled(phase: string, change?: (pod: V1Pod) => void, shape: SetShape = {}): Situation {
  return scaledDown(shape, (set) => {
    const claim = claim2(set);
    const pod = aDrainPod(aSet({ replicas: 1, ...fin }), 2, [claim], { phase });
    delete pod.metadata!.labels![ROLE_LABEL];
    change?.(pod);
    return { claims: [claim], pods: [pod] };
  });
}

function placeholder(set: V1StatefulSet, deleting = false): V1Pod {
  const pod = buildPlaceholder(set, 'busybox', 2);
  pod.metadata!.uid = 'uid-placeholder';
  if (deleting) pod.metadata!.deletionTimestamp = NOW;
  return pod;
}

/** Ordinal 2 of a set with claim templates `data` and `logs`: both its claims (each changed by `change`) and `pods`. */
function twoClaims(shape: SetShape, pods: (set: V1StatefulSet) => V1Pod[], change: (claim: V1PersistentVolumeClaim) => void): Situation {
  return scaledDown({ templates: ['data', 'logs'], ...shape }, (set) => {
    const claims = ['data', 'logs'].map((template) => aClaim(set, 2, { template }));
    claims.forEach(change);
    return { claims, pods: pods(set) };
  });
}

/** Records on `claim` the success of drain pod `uid-drained` (gone), at the set's generation. */
function drainedOn(claim: V1PersistentVolumeClaim): void {
  claim.metadata!.annotations = drainedBy('uid-drained');
}

/** A claim's annotations once drain pod `uid` succeeded on it, at `generation` of the set. */
const drainedBy = (uid: string, generation = GENERATION) => ({ [DRAIN_POD_ANNOTATION]: uid, ...drainedRecord(uid, generation) });

/** A claim's annotations after `failures` failed attempts, the last at `at` (if given). */
const failed = (failures: number, at?: Date) =>
  ({ [FAILURES_ANNOTATION]: String(failures), ...(at ? { [LAST_FAILURE_ANNOTATION]: at.toISOString() } : {}) });

const situations: Record<string, () => Situation> = {
  'a drain starts': () => scaledDown({}, (set) => ({ claims: [claim2(set)], pods: [] })),
  'the replica is still terminating': () => scaledDown({}, (set) => ({ claims: [claim2(set)], pods: [aStatefulPod(set, 2)] })),
  'OrderedReady: a lower ordinal waits for a higher one': () => scaledDown({}, (set) => {
    const claim = claim2(set);
    return { claims: [aClaim(set, 1), claim], pods: [aDrainPod(set, 2, [claim], { phase: 'Running', started: NOW })] };
  }),
  'a template the API server has not judged yet': () => ({ ...scaledDown({}, (set) => ({ claims: [claim2(set)], pods: [] })),
    verdict: { state: 'unchecked' } }),
  'a template the API server refused': () => ({ ...scaledDown({}, (set) => ({ claims: [claim2(set)], pods: [] })),
    verdict: { state: 'rejected', problem: 'pods "db-3" is forbidden: violates PodSecurity "restricted:latest"' } }),
  'a template that is not JSON': () => scaledDown({ template: '{nope' }, (set) => ({ claims: [claim2(set)], pods: [] })),
  'bad annotations: attempts, timeout, delay, inherit-scheduling': () => scaledDown({ annotations: {
    [MAX_ATTEMPTS_ANNOTATION]: 'many', [TIMEOUT_ANNOTATION]: 'soon', [DELAY_ANNOTATION]: '9000h', [INHERIT_SCHEDULING_ANNOTATION]: 'yes',
  } }, (set) => ({ claims: [claim2(set)], pods: [] })),
  'whenScaled: Delete': () => scaledDown({ whenScaled: 'Delete' }, (set) => ({ claims: [claim2(set)], pods: [] })),
  'a selector without matchLabels': () => {
    const situation = scaledDown({}, (set) => ({ claims: [claim2(set)], pods: [] }));
    situation.set.spec!.selector = { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] };
    return situation;
  },
  'the set deleted in the foreground': () =>
    scaledDown({ deleting: true, finalizers: [FINALIZER, 'foregroundDeletion'] }, (set) => ({ claims: [claim2(set)], pods: [] })),
  'a claim another set also spells': () => {
    const ab = aSet({ name: 'a-b', replicas: 1, ...fin });
    const b = aSet({ name: 'b', replicas: 0, templates: ['data-a'], ...fin });
    b.spec!.selector = { matchLabels: { app: 'a-b' } };
    return { set: b, claims: [aClaim(ab, 0)], pods: [], rivals: [ab] };
  },
  'a drain delay being waited out': () => scaledDown({ annotations: { [DELAY_ANNOTATION]: '10m' } },
    (set) => ({ claims: [claim2(set, { [ORPHANED_SINCE_ANNOTATION]: ago(2 * minutes).toISOString() })], pods: [] })),
  'a time in the future on a claim': () => scaledDown({ annotations: { [DELAY_ANNOTATION]: '10m' } },
    (set) => ({ claims: [claim2(set, { [ORPHANED_SINCE_ANNOTATION]: new Date(NOW.getTime() + 5 * minutes).toISOString() })], pods: [] })),
  'a retry requested': () => scaledDown({ annotations: { [RETRY_ANNOTATION]: 'again' } },
    (set) => ({ claims: [claim2(set, failed(3, NOW))], pods: [] })),
  'every attempt failed': () => scaledDown({},
    (set) => ({ claims: [claim2(set, failed(3, NOW))], pods: [] })),
  'a failed attempt in its backoff': () => scaledDown({},
    (set) => ({ claims: [claim2(set, failed(1, NOW))], pods: [] })),
  'a drain pod Pending': () => draining('Pending', {}, { created: ago(minutes) }),
  'a drain pod running': () => draining('Running', {}, { created: ago(minutes), started: ago(minutes) }),
  'a drain pod Pending past its deadline': () => draining('Pending', {}, { created: ago(20 * minutes) }),
  'a drain pod running past its deadline': () => draining('Running', {}, { created: ago(120 * minutes), started: ago(120 * minutes) }),
  'a drain pod past its timeout, attempts left': () =>
    draining('Running', { annotations: { [TIMEOUT_ANNOTATION]: '10m' } }, { created: ago(20 * minutes), started: ago(20 * minutes) }),
  'a drain pod past its timeout, the last attempt': () => draining('Running', { annotations: { [TIMEOUT_ANNOTATION]: '10m' } },
    { created: ago(20 * minutes), started: ago(20 * minutes), attempt: 3 }, failed(2)),
  'a drain pod failed, attempts left': () => draining('Failed'),
  'a drain pod failed, the last attempt': () => draining('Failed', {}, { attempt: 3 }, failed(2)),
  'a failed drain pod in its backoff': () =>
    draining('Failed', {}, {}, failed(1, NOW)),
  'a failed drain pod due for its retry': () =>
    draining('Failed', {}, {}, failed(1, ago(60 * minutes))),
  'a failed drain pod after every attempt': () => draining('Failed', {}, { attempt: 3 },
    failed(3, NOW)),
  'a failed drain pod of an earlier retry': () => draining('Failed', { annotations: { [RETRY_ANNOTATION]: 'again' } }, {},
    { [RETRY_TOKEN_ANNOTATION]: 'again' }),
  'a failed drain pod whose claim someone else is deleting': () => scaledDown({}, (set) => {
    const claim = aClaim(set, 2, { deleting: true });
    return { claims: [claim], pods: [aDrainPod(set, 2, [claim], { phase: 'Failed' })] };
  }),
  'a drain pod Succeeded': () => draining('Succeeded', {}, { created: ago(minutes) }),
  'the set grew back over a finished drain': () => draining('Succeeded', { replicas: 3 }),
  'the set grew back over a running drain: it runs on': () => draining('Running', { replicas: 3 }, { started: ago(minutes) }),
  'a drain pod whose containers were changed': () => scaledDown({}, (set) => {
    const claim = claim2(set);
    const pod = aDrainPod(set, 2, [claim], { phase: 'Succeeded' });
    pod.spec!.containers[0]!.image = 'evil';
    return { claims: [claim], pods: [pod] };
  }),
  'a drain pod relabelled': () => scaledDown({}, (set) => {
    const claim = claim2(set);
    const pod = aDrainPod(set, 2, [claim], { phase: 'Running' });
    delete pod.metadata!.labels![ROLE_LABEL];
    return { claims: [claim], pods: [pod] };
  }),
  'a drain pod this controller ended, still in the cache': () => scaledDown({}, (set) => {
    const claim = claim2(set);
    const pod = aDrainPod(set, 2, [claim], { phase: 'Failed', record: false });
    claim.metadata!.annotations = { [ENDED_DRAIN_POD_ANNOTATION]: pod.metadata!.uid! };
    return { claims: [claim], pods: [pod] };
  }),
  'a look-alike drain pod just created': () => draining('Pending', {}, { record: false, created: ago(10_000) }),
  'a look-alike drain pod running': () => draining('Running', {}, { record: false, created: ago(minutes) }),
  'a look-alike drain pod finished': () => draining('Succeeded', {}, { record: false, created: ago(minutes) }),
  'a look-alike drain pod Pending with no claim left': () => scaledDown({}, (set) => ({ claims: [],
    pods: [aDrainPod(set, 2, [claim2(set)], { phase: 'Pending', record: false, created: ago(minutes) })] })),
  'drained: a placeholder takes the name': () => drained({}),
  'drained: the placeholder holds the name, the claim is released': () => drained({}, (set) => [placeholder(set)]),
  'drained: the placeholder is being deleted by someone else': () => drained({}, (set) => [placeholder(set, true)]),
  'drained: the claim is being deleted under the placeholder': () => {
    const situation = drained({}, (set) => [placeholder(set)]);
    situation.claims[1]!.metadata!.deletionTimestamp = NOW;
    return situation;
  },
  'drained: the claim deleted by someone else, nothing holding the name: not this controller\'s release, nothing said': () => {
    const situation = drained({});
    situation.claims[1]!.metadata!.deletionTimestamp = NOW;
    return situation;
  },
  'drained: the claims are gone, the placeholder goes': () => scaledDown({}, (set) => ({ claims: [], pods: [placeholder(set)] })),
  'drained: another pod took the name first': () => drained({}, (set) => [aStatefulPod(set, 2)]),
  'drained: the set grew back before the release': () => drained({ replicas: 3 }, (set) => [placeholder(set)]),
  'drained: the set changed since': () => drained({}, (set) => [placeholder(set)], 7),
  'the set deleted: an orphaned ordinal is drained before the finalizer goes': () =>
    scaledDown({ deleting: true }, (set) => ({ claims: [claim2(set)], pods: [] })),
  'the set deleted: a drain that gave up keeps no finalizer': () => scaledDown({ deleting: true },
    (set) => ({ claims: [claim2(set, failed(3, NOW))], pods: [] })),
  'OrderedReady: two ordinals delayed, the lower waits its turn': () => scaledDown({ annotations: { [DELAY_ANNOTATION]: '10m' } },
    (set) => ({ claims: [1, 2].map((o) => aClaim(set, o, { annotations: { [ORPHANED_SINCE_ANNOTATION]: ago(minutes).toISOString() } })),
      pods: [] })),
  'OrderedReady: a retry resets the highest ordinal first': () => scaledDown({ annotations: { [RETRY_ANNOTATION]: 'again' } },
    (set) => ({ claims: [1, 2].map((o) => aClaim(set, o, { annotations: failed(3, NOW) })), pods: [] })),
  'a drain delay over two claims marked at different times: the later mark counts': () => scaledDown(
    { templates: ['data', 'logs'], annotations: { [DELAY_ANNOTATION]: '10m' } }, (set) => ({ claims: [
      aClaim(set, 2, { annotations: { [ORPHANED_SINCE_ANNOTATION]: ago(5 * minutes).toISOString() } }),
      aClaim(set, 2, { template: 'logs', annotations: { [ORPHANED_SINCE_ANNOTATION]: ago(minutes).toISOString() } })], pods: [] })),
  'a failed attempt at the very end of its backoff': () => scaledDown({},
    (set) => ({ claims: [claim2(set, failed(1, ago(10_000)))], pods: [] })),
  'a drain pod at the very end of its timeout': () =>
    draining('Running', { annotations: { [TIMEOUT_ANNOTATION]: '10m' } }, { created: ago(10 * minutes), started: ago(10 * minutes) }),
  'a drain pod Pending for exactly its deadline': () => draining('Pending', {}, { created: ago(10 * minutes) }),
  'a drain timed out whose claim someone else is deleting': () => scaledDown({ annotations: { [TIMEOUT_ANNOTATION]: '10m' } }, (set) => {
    const claim = aClaim(set, 2, { deleting: true });
    return { claims: [claim], pods: [aDrainPod(set, 2, [claim], { phase: 'Running', created: ago(20 * minutes) })] };
  }),
  'a failed drain pod of the current retry': () => draining('Failed', { annotations: { [RETRY_ANNOTATION]: 'again' } },
    { retryToken: 'again' }, { [RETRY_TOKEN_ANNOTATION]: 'again' }),
  'a look-alike drain pod that finished a moment ago': () => draining('Succeeded', {}, { record: false, created: ago(10_000) }),
  'a look-alike drain pod Pending for exactly its first 30 s': () => draining('Pending', {}, { record: false, created: ago(30_000) }),
  'a drain pod relabelled, finished': () => relabelled('Succeeded'),
  'a drain pod relabelled, finished, being deleted': () => relabelled('Succeeded', (pod) => (pod.metadata!.deletionTimestamp = NOW)),
  'a drain pod relabelled, finished, of a set no longer annotated': () => relabelled('Succeeded', undefined, { template: null }),
  'a drain pod this controller ended, being deleted': () => {
    const situation = situations['a drain pod this controller ended, still in the cache']!();
    situation.pods[1]!.metadata!.deletionTimestamp = NOW;
    return situation;
  },
  'a drain pod whose containers were changed, of a set no longer annotated': () => scaledDown({ template: null }, (set) => {
    const claim = claim2(set);
    const pod = aDrainPod(aSet({ replicas: 1, ...fin }), 2, [claim], { phase: 'Succeeded' });
    pod.spec!.containers[0]!.image = 'evil';
    return { claims: [claim], pods: [pod] };
  }),
  'drained: the set grew back, the placeholder already going': () => drained({ replicas: 3 }, (set) => [placeholder(set, true)]),
  'a pod without a UID holds the name': () => scaledDown({}, (set) => {
    const holder = aStatefulPod(set, 2);
    delete holder.metadata!.uid;
    return { claims: [claim2(set)], pods: [holder] };
  }),
  'a set with the annotation but no claim templates: not managed, nothing said': () => ({ ...scaledDown({ templates: [] },
    () => ({ claims: [], pods: [] })) }),
  'a replica on a claim released and still being deleted': () => {
    const set = aSet({ replicas: 3, ...fin });
    const released = recordDrainPod(aClaim(set, 2, { deleting: true }), 'uid-of-the-drain-pod');
    return { set, claims: [aClaim(set, 0), aClaim(set, 1), released], pods: [0, 1, 2].map((o) => aStatefulPod(set, o)) };
  },
  'two claims: drained, the placeholder holds the name, both are released': () =>
    twoClaims({}, (set) => [placeholder(set)], (c) => drainedOn(c)),
  'two claims: both being deleted under the placeholder': () => twoClaims({}, (set) => [placeholder(set)], (c) => {
    drainedOn(c);
    c.metadata!.deletionTimestamp = NOW;
  }),
  'two claims: the set grew back before the release': () => twoClaims({ replicas: 3 }, (set) => [placeholder(set)], (c) => drainedOn(c)),
  'two claims: a time in the future on both': () => twoClaims({ annotations: { [DELAY_ANNOTATION]: '10m' } }, () => [], (c) => {
    c.metadata!.annotations = { [ORPHANED_SINCE_ANNOTATION]: new Date(NOW.getTime() + 5 * minutes).toISOString() };
  }),
  'a replica on two claims released and still being deleted': () => {
    const set = aSet({ replicas: 3, templates: ['data', 'logs'], ...fin });
    const released = ['data', 'logs']
      .map((template) => recordDrainPod(aClaim(set, 2, { template, deleting: true }), 'uid-of-the-drain-pod'));
    return { set, claims: [aClaim(set, 0), aClaim(set, 1), ...released], pods: [0, 1, 2].map((o) => aStatefulPod(set, o)) };
  },
  'a template with two problems': () => scaledDown({ template: { metadata: { name: 'mine' },
    spec: { restartPolicy: 'Always', containers: [{ name: 'drain', image: 'busybox' }] } } },
  (set) => ({ claims: [claim2(set)], pods: [] })),
  'two blockers: whenScaled Delete and a selector without matchLabels': () => {
    const situation = scaledDown({ whenScaled: 'Delete' }, (set) => ({ claims: [claim2(set)], pods: [] }));
    situation.set.spec!.selector = { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] };
    return situation;
  },
  'no podManagementPolicy given: OrderedReady, the lower ordinal waits': () => {
    const situation = scaledDown({}, (set) => ({ claims: [aClaim(set, 1), claim2(set)], pods: [] }));
    delete situation.set.spec!.podManagementPolicy;
    return situation;
  },
  'inherit-scheduling "true"': () => scaledDown({ annotations: { [INHERIT_SCHEDULING_ANNOTATION]: 'true' } },
    (set) => ({ claims: [claim2(set)], pods: [] })),
  'inherit-scheduling "false"': () => scaledDown({ annotations: { [INHERIT_SCHEDULING_ANNOTATION]: 'false' } },
    (set) => ({ claims: [claim2(set)], pods: [] })),
  'an invalid template: a time in the future and a drain delay write nothing': () =>
    scaledDown({ template: '{nope', annotations: { [DELAY_ANNOTATION]: '10m' } }, (set) => ({ claims: [aClaim(set, 1),
      claim2(set, { [ORPHANED_SINCE_ANNOTATION]: new Date(NOW.getTime() + 5 * minutes).toISOString() })], pods: [] })),
  'the replica is still terminating after a failed attempt': () => scaledDown({}, (set) => ({
    claims: [claim2(set, failed(1, ago(minutes)))],
    pods: [aStatefulPod(set, 2)] })),
  'a drain delay after a failed attempt: nothing marked, the retry starts': () => scaledDown({ annotations: { [DELAY_ANNOTATION]: '10m' } },
    (set) => ({ claims: [claim2(set, failed(1, ago(60 * minutes)))],
      pods: [] })),
  'the set deleted: a relabelled drain pod still running keeps the finalizer': () => relabelled('Running', undefined, { deleting: true }),
  'the set deleted: drained, the placeholder holds the name, the finalizer stays': () =>
    drained({ deleting: true }, (set) => [placeholder(set)]),
  'the set deleted: a drain delay being waited out keeps the finalizer': () =>
    scaledDown({ deleting: true, annotations: { [DELAY_ANNOTATION]: '10m' } },
      (set) => ({ claims: [claim2(set, { [ORPHANED_SINCE_ANNOTATION]: ago(2 * minutes).toISOString() })], pods: [] })),
  'the set deleted: a retry requested keeps the finalizer': () =>
    scaledDown({ deleting: true, annotations: { [RETRY_ANNOTATION]: 'again' } }, (set) => ({
      claims: [claim2(set, failed(3, NOW))], pods: [] })),
  'the set deleted: a failed attempt in its backoff keeps the finalizer': () => scaledDown({ deleting: true },
    (set) => ({ claims: [claim2(set, failed(1, NOW))], pods: [] })),
  'the set deleted: a template not judged yet keeps the finalizer': () => ({
    ...scaledDown({ deleting: true }, (set) => ({ claims: [claim2(set)], pods: [] })), verdict: { state: 'unchecked' } }),
  'OrderedReady: a lower ordinal waits behind one in backoff': () => scaledDown({}, (set) => ({ claims: [aClaim(set, 1),
    claim2(set, failed(1, NOW))], pods: [] })),
  'OrderedReady: a template not judged yet, two ordinals': () => ({
    ...scaledDown({}, (set) => ({ claims: [aClaim(set, 1), claim2(set)], pods: [] })), verdict: { state: 'unchecked' } }),
  'drained: the claims are gone, the placeholder is being deleted': () =>
    scaledDown({}, (set) => ({ claims: [], pods: [placeholder(set, true)] })),
  'OrderedReady: a lower ordinal waits while a released claim is being deleted': () => {
    const situation = drained({}, (set) => [placeholder(set)]);
    situation.claims[1]!.metadata!.deletionTimestamp = NOW;
    situation.claims.push(aClaim(situation.set, 1));
    return situation;
  },
  'a drain pod relabelled, failed': () => relabelled('Failed'),
  'a look-alike drain pod that failed a moment ago': () => draining('Failed', {}, { record: false, created: ago(10_000) }),
  'a drain pod whose containers were changed, running': () => scaledDown({}, (set) => {
    const claim = claim2(set);
    const pod = aDrainPod(set, 2, [claim], { phase: 'Running' });
    pod.spec!.containers[0]!.image = 'evil';
    return { claims: [claim], pods: [pod] };
  }),
  'a drain pod Succeeded, being deleted': () => {
    const situation = draining('Succeeded');
    situation.pods[1]!.metadata!.deletionTimestamp = NOW;
    return situation;
  },
  'a drain pod running with no timestamps at all, under a timeout': () => {
    const situation = draining('Running', { annotations: { [TIMEOUT_ANNOTATION]: '10m' } });
    delete situation.pods[1]!.metadata!.creationTimestamp;
    return situation;
  },
  'a set whose last annotation was removed: not managed, its finalizer goes': () => {
    const situation = scaledDown({ template: null }, (set) => ({ claims: [claim2(set)], pods: [] }));
    delete situation.set.metadata!.annotations;
    return situation;
  },
  'a drain pod relabelled, seen without its status': () => relabelled('Running', (pod) => delete pod.status),
  'two claims drained, one deleted by someone else, nothing holding the name': () => {
    const situation = twoClaims({}, () => [], (c) => drainedOn(c));
    situation.claims[2]!.metadata!.deletionTimestamp = NOW;
    return situation;
  },
  'a retry after a failed attempt, the drain delay raised since: the retry does not wait for it': () =>
    scaledDown({ annotations: { [DELAY_ANNOTATION]: '60m' } }, (set) => ({ claims: [claim2(set, {
      [ORPHANED_SINCE_ANNOTATION]: ago(20 * minutes).toISOString(), ...failed(1, ago(15 * minutes)) })], pods: [] })),
  'a drain pod Succeeded without a creation time': () => {
    const situation = draining('Succeeded');
    delete situation.pods[1]!.metadata!.creationTimestamp;
    return situation;
  },
  'the set grew back over a running drain past its timeout: stopped, no failure on the replica\'s claims': () =>
    draining('Running', { replicas: 3, annotations: { [TIMEOUT_ANNOTATION]: '10m' } },
      { created: ago(20 * minutes), started: ago(20 * minutes) }),
  'a look-alike drain pod finished, of a set no longer annotated': () => {
    const situation = draining('Succeeded', {}, { record: false, created: ago(minutes) });
    delete situation.set.metadata!.annotations![TEMPLATE_ANNOTATION];
    return situation;
  },
  'a look-alike drain pod finished, being deleted': () => deleting(draining('Succeeded', {}, { record: false, created: ago(minutes) })),
  'a look-alike drain pod failed, being deleted': () => deleting(draining('Failed', {}, { record: false, created: ago(minutes) })),
  'a drain pod whose containers were changed, finished, being deleted': () => deleting(scaledDown({}, (set) => {
    const claim = claim2(set);
    const pod = aDrainPod(set, 2, [claim], { phase: 'Failed' });
    pod.spec!.containers[0]!.image = 'evil';
    return { claims: [claim], pods: [pod] };
  })),
  'a drain pod Failed, being deleted': () => deleting(draining('Failed')),
  'a drain pod Pending, being deleted': () => deleting(draining('Pending', {}, { created: ago(minutes) })),
};

/** The situation with its drain pod (ordinal 2's pod) being deleted. */
function deleting(situation: Situation): Situation {
  situation.pods[1]!.metadata!.deletionTimestamp = NOW;
  return situation;
}

/** An action in a line: its kind and fields, a pod by its name. */
function asLine(action: Action): string {
  const { kind, ...fields } = action;
  return `do ${kind} ${Object.entries(fields).map(([key, value]) =>
    `${key}=${key === 'pod' && (value as V1Pod).metadata ? (value as V1Pod).metadata!.name : JSON.stringify(value, unseen)}`).join(' ')}`;
}

/** A release's claim without the cached copy it carries (the property tests check that copy is the claim the plan was given). */
function unseen(key: string, value: unknown): unknown {
  return key === 'seen' ? undefined : value;
}

/**
 * The plan as its reader sees it: events (type, reason, ordinal, text, de-duplication key), each ordinal's state,
 * failures and reason, when it looks again and the set's gauges; and beside them, what is done.
 */
function asRead(plan: Plan): string[] {
  return [
    ...plan.actions.filter((a) => a.kind !== 'Report').map(asLine),
    ...plan.actions.flatMap((a) => (a.kind === 'Report'
      ? [`event ${a.type} ${a.reason}${a.ordinal === undefined ? '' : ` (ordinal ${a.ordinal})`}: ${a.message} [once per ${a.dedupeKey}]`]
      : [])),
    ...plan.ordinals.map((o) => `ordinal ${o.ordinal} ${o.state}${o.startsAt ? ` until ${o.startsAt}` : ''} ` +
      `[${o.claims.join(', ')}] failures ${o.failures}` +
      `${o.drainPod ? ` pod ${o.drainPod.name} ${o.drainPod.phase} attempt ${o.drainPod.attempt}` : ''}: ${o.why}`),
    ...(plan.requeueAfterMs === undefined ? [] : [`looks again in ${plan.requeueAfterMs} ms`]),
    `gauges ${JSON.stringify(plan.summary)}`,
  ];
}

describe('what users read', () => {
  it.each(Object.keys(situations))('%s', (name) => {
    const { set, claims, pods, rivals, verdict } = situations[name]!();
    const plan = planSet({ set, claims, pods, rivals, template: parseDrainerTemplate(set), templateVerdict: verdict ?? ACCEPTED,
      now: NOW }, settings);
    expect(asRead(plan)).toMatchSnapshot();
  });
});
