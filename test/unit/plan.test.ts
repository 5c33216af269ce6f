import { FUTURE_TOLERANCE_MS, isManaged, needsPlanning, planSet, templateHash } from '../../src/planner/plan.ts';
import { parseDrainerTemplate } from '../../src/planner/template.ts';
import { CLAIMS_ANNOTATION, DELAY_ANNOTATION, TEMPLATE_ANNOTATION, ENDED_DRAIN_POD_ANNOTATION, FAILURES_ANNOTATION,
  FINALIZER, KEEP_VOLUME_ANNOTATION, LAST_FAILURE_ANNOTATION, ORDINAL_LABEL, ORPHANED_SINCE_ANNOTATION, RETRY_ANNOTATION,
  RETRY_TOKEN_ANNOTATION, ROLE_LABEL,
  SET_LABEL } from '../../src/planner/keys.ts';
import type { Action, SetObservation, TemplateVerdict } from '../../src/planner/types.ts';
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { buildPlaceholder, isPlaceholderOf } from '../../src/planner/placeholder.ts';
import { drainedBy, drainedRecord } from '../../src/planner/release-proof.ts';
import {
  ACCEPTED, NOW, aClaim, aDrainPod, aSet, aStatefulPod, drainTemplate, recordDrainPod, settings, type SetShape,
} from './fixtures.ts';

type SetShapeExtra = Partial<SetShape>;

function plan(set: V1StatefulSet, claims: V1PersistentVolumeClaim[], pods: V1Pod[], now = NOW, verdict: TemplateVerdict = ACCEPTED) {
  const observation: SetObservation = { set, claims, pods, template: parseDrainerTemplate(set), templateVerdict: verdict, now };
  return planSet(observation, settings);
}

/** A compact rendering of the actions that change the cluster, for table assertions. */
function steps(actions: Action[]): string[] {
  return actions.flatMap((a) => {
    switch (a.kind) {
      case 'CreateDrainPod': return [`create ${a.pod.metadata!.name} [${a.claims.map((c) => c.name).join(',')}] attempt ${a.attempt}`];
      case 'RecordDrained': return [`record-drained ${a.claims.map((c) => c.name).join(',')} by ${a.drainPod.name}`];
      case 'CreatePlaceholder': return [`create-placeholder ${a.pod.metadata!.name}`];
      case 'DeleteClaim': return [`delete-claim ${a.claim.name}@${a.claim.uid}`];
      case 'DeletePlaceholder': return [`delete-placeholder ${a.pod.name} (${a.reason})`];
      case 'ForgetDrained': return [`forget-drained ${a.claims.map((c) => c.name).join(',')}`];
      case 'DeleteDrainPod': return [`delete-pod ${a.pod.name} ` +
        `(${a.reason})${a.forget ? ` forget ${a.forget.map((c) => c.name).join(',')}` : ''}`];
      case 'RecordFailure': return [`record-failure ${a.claims.map((c) => c.name).join(',')}=${a.failures}`];
      case 'ResetFailures': return [`reset ${a.claims.map((c) => c.name).join(',')}`];
      case 'VerifyTemplate': return [`verify-template ${a.pod.metadata!.name}`];
      case 'MarkOrphaned': return [`${a.at ? 'mark' : 'unmark'} ${a.claims.map((c) => c.name).join(',')}`];
      case 'CorrectTime': return [`correct ${a.annotation.split('/')[1]} ${a.claims.map((c) => c.name).join(',')}=${a.at}`];
      case 'AddFinalizer': return ['add-finalizer'];
      case 'RemoveFinalizer': return ['remove-finalizer'];
      case 'Report': return [];
    }
  });
}

function reports(actions: Action[]): string[] {
  return actions.flatMap((a) => (a.kind === 'Report' ? [a.reason] : []));
}

const fin = { finalizers: [FINALIZER] };
const failedAt = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

describe('planSet: which ordinals get a drain pod', () => {
  const cases: Array<{ name: string; set: V1StatefulSet;
      build: (set: V1StatefulSet) => { claims: V1PersistentVolumeClaim[]; pods: V1Pod[] }; want: string[] }> = [
    {
      name: 'no scale-down: nothing to do',
      set: aSet({ replicas: 3, ...fin }),
      build: (s) => ({ claims: [0, 1, 2].map((o) => aClaim(s, o)), pods: [0, 1, 2].map((o) => aStatefulPod(s, o)) }),
      want: [],
    },
    {
      name: '3 -> 2: the claim of ordinal 2 is drained once its pod is gone',
      set: aSet({ replicas: 2, ...fin }),
      build: (s) => ({ claims: [0, 1, 2].map((o) => aClaim(s, o)), pods: [0, 1].map((o) => aStatefulPod(s, o)) }),
      want: ['create db-2 [data-db-2] attempt 1'],
    },
    {
      name: '3 -> 2 while pod 2 still terminates: wait',
      set: aSet({ replicas: 2, ...fin }),
      build: (s) => ({ claims: [0, 1, 2].map((o) => aClaim(s, o)), pods: [0, 1, 2].map((o) => aStatefulPod(s, o)) }),
      want: [],
    },
    {
      name: 'OrderedReady 5 -> 2: highest ordinal first, one at a time',
      set: aSet({ replicas: 2, ...fin }),
      build: (s) => ({ claims: [0, 1, 2, 3, 4].map((o) => aClaim(s, o)), pods: [0, 1].map((o) => aStatefulPod(s, o)) }),
      want: ['create db-4 [data-db-4] attempt 1'],
    },
    {
      name: 'OrderedReady: a running drain blocks the next ordinal',
      set: aSet({ replicas: 2, ...fin }),
      build: (s) => {
        const claims = [0, 1, 2, 3].map((o) => aClaim(s, o));
        return { claims, pods: [aStatefulPod(s, 0), aStatefulPod(s, 1), aDrainPod(s, 3, [claims[3]!])] };
      },
      want: [],
    },
    {
      // Fault ledger, batch 1643878114 world 7: kwok removed alpha-2 and alpha-1 while the cache still had alpha-3
      // terminating; the plan started ordinal 1, the next one ordinal 3 once its pod was gone: two drains at once.
      name: 'OrderedReady 4 -> 1 while pod 3 still terminates: nothing starts below it',
      set: aSet({ replicas: 1, ...fin }),
      build: (s) => ({ claims: [0, 1, 2, 3].map((o) => aClaim(s, o)), pods: [aStatefulPod(s, 0), aStatefulPod(s, 3)] }),
      want: [],
    },
    {
      name: 'Parallel 5 -> 2: every orphaned ordinal at once',
      set: aSet({ replicas: 2, policy: 'Parallel', ...fin }),
      build: (s) => ({ claims: [0, 1, 2, 3, 4].map((o) => aClaim(s, o)), pods: [0, 1].map((o) => aStatefulPod(s, o)) }),
      want: ['create db-4 [data-db-4] attempt 1', 'create db-3 [data-db-3] attempt 1', 'create db-2 [data-db-2] attempt 1'],
    },
    {
      name: 'ordinals.start 10: claims below the range are orphans too',
      set: aSet({ replicas: 2, start: 10, policy: 'Parallel', ...fin }),
      build: (s) => ({ claims: [9, 10, 11, 12].map((o) => aClaim(s, o)), pods: [10, 11].map((o) => aStatefulPod(s, o)) }),
      want: ['create db-12 [data-db-12] attempt 1', 'create db-9 [data-db-9] attempt 1'],
    },
    {
      name: 'two claim templates: one drain pod mounts both claims',
      set: aSet({ replicas: 1, templates: ['data', 'logs'], ...fin }),
      build: (s) => ({ claims: [aClaim(s, 0), aClaim(s, 0, { template: 'logs' }), aClaim(s, 1), aClaim(s, 1, { template: 'logs' })],
        pods: [aStatefulPod(s, 0)] }),
      want: ['create db-1 [data-db-1,logs-db-1] attempt 1'],
    },
    {
      name: 'two claim templates, one claim gone: only the live claim is mounted',
      set: aSet({ replicas: 1, templates: ['data', 'logs'], ...fin }),
      build: (s) => ({ claims: [aClaim(s, 0), aClaim(s, 1, { template: 'logs' })], pods: [aStatefulPod(s, 0)] }),
      want: ['create db-1 [logs-db-1] attempt 1'],
    },
    {
      name: 'a claim without the selector labels is not ours (look-alike name)',
      set: aSet({ replicas: 1, ...fin }),
      build: (s) => ({ claims: [aClaim(s, 0), aClaim(s, 1, { labels: { app: 'other' } })], pods: [aStatefulPod(s, 0)] }),
      want: [],
    },
    {
      name: 'a claim being deleted is never drained',
      set: aSet({ replicas: 1, ...fin }),
      build: (s) => ({ claims: [aClaim(s, 0), aClaim(s, 1, { deleting: true })], pods: [aStatefulPod(s, 0)] }),
      want: [],
    },
    {
      name: 'a foreign pod holding the name blocks the ordinal',
      set: aSet({ replicas: 1, ...fin }),
      build: (s) =>
        ({ claims: [aClaim(s, 0), aClaim(s, 1)], pods: [aStatefulPod(s, 0), { metadata: { name: 'db-1', namespace: 'ns', uid: 'x' } }] }),
      want: [],
    },
    {
      name: 'first reconcile of a managed set adds the finalizer before anything else',
      set: aSet({ replicas: 1 }),
      build: (s) => ({ claims: [aClaim(s, 0), aClaim(s, 1)], pods: [aStatefulPod(s, 0)] }),
      want: ['add-finalizer', 'create db-1 [data-db-1] attempt 1'],
    },
  ];
  it.each(cases)('$name', ({ set, build, want }) => {
    const { claims, pods } = build(set);
    expect(steps(plan(set, claims, pods).actions)).toEqual(want);
  });

  it('names the ambiguous claim correctly: data + set a-b vs data-a + set b', () => {
    const ab = aSet({ name: 'a-b', replicas: 0, ...fin });
    const b = { ...aSet({ name: 'b', replicas: 0, templates: ['data-a'], ...fin }) };
    const claimOfAb = aClaim(ab, 0); // data-a-b-0, labels app=a-b
    expect(claimOfAb.metadata!.name).toBe('data-a-b-0');
    expect(steps(plan(ab, [claimOfAb], []).actions)).toEqual(['create a-b-0 [data-a-b-0] attempt 1']);
    expect(steps(plan(b, [claimOfAb], []).actions)).toEqual([]);
  });
});

describe('planSet: finishing drains', () => {
  describe('a release: the success recorded, the drain pod gone, a placeholder holding the name while the claims are deleted', () => {
    const set = aSet({ replicas: 2, ...fin });
    set.metadata!.generation = 7;
    const live = () => [aClaim(set, 0), aClaim(set, 1)];
    const replicas = [aStatefulPod(set, 0), aStatefulPod(set, 1)];
    const drained = (claim = aClaim(set, 2), pod = aDrainPod(set, 2, [claim], { phase: 'Succeeded' }), generation = 7) => {
      claim.metadata!.annotations = { ...claim.metadata!.annotations, ...drainedRecord(pod.metadata!.uid!, generation) };
      return claim;
    };
    const placeholder = () => {
      const p = buildPlaceholder(set, 'drainer:1', 2);
      p.metadata!.uid = 'uid-placeholder-2';
      return p;
    };

    it('1. the Succeeded pod: its success is recorded on its claims (with the set\'s generation), then it is deleted', () => {
      const claim = aClaim(set, 2);
      const pod = aDrainPod(set, 2, [claim], { phase: 'Succeeded' });
      const result = plan(set, [...live(), claim], [...replicas, pod]);
      expect(steps(result.actions)).toEqual(['record-drained data-db-2 by db-2', 'delete-pod db-2 (drained)']);
      expect(result.actions.find((a) => a.kind === 'RecordDrained')).toMatchObject({ generation: 7, drainPod: { uid: pod.metadata!.uid } });
      expect(reports(result.actions)).toEqual(['DrainSucceeded']);
      // A crash after the record: only the pod is deleted.
      expect(steps(plan(set, [...live(), drained(claim, pod)], [...replicas, pod]).actions)).toEqual(['delete-pod db-2 (drained)']);
    });

    it('2. the pod gone: a placeholder takes the name; no claim is deleted while the name is free', () => {
      const result = plan(set, [...live(), drained()], replicas);
      expect(steps(result.actions)).toEqual(['create-placeholder db-2']);
      const created = result.actions.find((a) => a.kind === 'CreatePlaceholder');
      expect(created?.kind === 'CreatePlaceholder' &&
        isPlaceholderOf({ ...created.pod, metadata: { ...created.pod.metadata, uid: 'x' } }, set, 2)).toBe(true);
      expect(result.ordinals).toEqual([expect.objectContaining({ ordinal: 2, state: 'releasing' })]);
    });

    it('3. under the placeholder, the claims are deleted (by UID, naming the placeholder)', () => {
      const result = plan(set, [...live(), drained()], [...replicas, placeholder()]);
      expect(steps(result.actions)).toEqual(['delete-claim data-db-2@uid-data-db-2']);
      expect(result.actions[0]).toMatchObject({ placeholder: { name: 'db-2', uid: 'uid-placeholder-2' } });
    });

    it('3, in a set that keeps its volumes: each claim delete carries the keep (the drain pod that proved it, and its end)', () => {
      const keeping = aSet({ replicas: 2, ...fin, annotations: { [KEEP_VOLUME_ANNOTATION]: '72h' } });
      keeping.metadata!.generation = 7;
      const claim = drained();
      const result = plan(keeping, [...live(), claim], [...replicas, placeholder()]);
      expect(steps(result.actions)).toEqual(['delete-claim data-db-2@uid-data-db-2']);
      expect(result.actions[0]).toMatchObject({ keep: { drainPodUid: drainedBy(claim)!.podUid, at: NOW.toISOString(),
        until: new Date(NOW.getTime() + 72 * 3_600_000).toISOString() } });
      // The flag's default, when the set says nothing; none without either.
      expect(planSet({ set, claims: [...live(), claim], pods: [...replicas, placeholder()], template: parseDrainerTemplate(set),
        templateVerdict: ACCEPTED, now: NOW }, { ...settings, keepVolumeMs: 1_000 }).actions[0]).toMatchObject({ keep: expect.anything() });
      expect(plan(set, [...live(), claim], [...replicas, placeholder()]).actions[0]).not.toHaveProperty('keep');
    });

    it('3, in a set whose keep-volume cannot be read: nothing is released (the set asked for its volumes kept), and it is said', () => {
      const typo = aSet({ replicas: 2, ...fin, annotations: { [KEEP_VOLUME_ANNOTATION]: '3 days' } });
      typo.metadata!.generation = 7;
      const result = plan(typo, [...live(), drained()], [...replicas, placeholder()]);
      expect(steps(result.actions)).toEqual([]);
      expect(result.actions).toEqual([{ kind: 'Report', type: 'Warning', reason: 'InvalidKeepVolume', ordinal: undefined,
        message: expect.stringMatching(/^statefulsets.kubernetes.io\/drainer-keep-volume="3 days" is not 0 or a duration/),
        dedupeKey: expect.stringMatching(/^uid-db\/keep\/[0-9a-f]{12}$/) }]);
      expect(result.ordinals.find((o) => o.ordinal === 2)?.why)
        .toBe('claim(s) data-db-2 are drained; their release waits for a valid statefulsets.kubernetes.io/drainer-keep-volume');
      // Nothing left to release (the claims are gone): the name is freed as in any set.
      expect(steps(plan(typo, live(), [...replicas, placeholder()]).actions)).toEqual(['delete-placeholder db-2 (released)']);
    });

    it('4. the placeholder keeps the name while a claim is still being deleted, then goes, also if the set grew back meanwhile', () => {
      for (const replicasNow of [2, 3]) {
        const now = aSet({ replicas: replicasNow, ...fin });
        now.metadata!.generation = 7 + replicasNow - 2;
        const deleting = aClaim(now, 2, { deleting: true });
        expect(steps(plan(now, [...live(), deleting], [...replicas, placeholder()]).actions)).toEqual([]);
        expect(steps(plan(now, live(), [...replicas, placeholder()]).actions)).toEqual(['delete-placeholder db-2 (released)']);
      }
    });

    it('a set that grew back, or changed, before the claims were deleted calls the release off: the claims are kept', () => {
      const grown = aSet({ replicas: 3, ...fin });
      grown.metadata!.generation = 8;
      for (const pods of [replicas, [...replicas, placeholder()]]) {
        const result = plan(grown, [...live(), drained()], pods);
        expect(steps(result.actions))
          .toEqual(['forget-drained data-db-2', ...(pods.length > 2 ? ['delete-placeholder db-2 (cancelled)'] : [])]);
        expect(reports(result.actions)).toEqual(['DrainCancelled']);
        expect(result.ordinals.find((o) => o.ordinal === 2)?.state).toBe('cancelled');
      }
      // Scaled up and back down since (another generation): a replica may have written; drained again.
      const changed = aSet({ replicas: 2, ...fin });
      changed.metadata!.generation = 9;
      expect(steps(plan(changed, [...live(), drained()], replicas).actions)).toEqual(['forget-drained data-db-2']);
      expect(steps(plan(changed, [...live(), drained()], [...replicas, placeholder()]).actions))
        .toEqual(['forget-drained data-db-2', 'delete-placeholder db-2 (cancelled)']);
    });

    it('another pod holding the name (the returning replica, a stranger) calls the release off', () => {
      const stranger: V1Pod = { metadata: { name: 'db-2', namespace: 'ns', uid: 'stranger' } };
      const result = plan(set, [...live(), drained()], [...replicas, stranger]);
      expect(steps(result.actions)).toEqual(['forget-drained data-db-2']);
      expect(result.ordinals.find((o) => o.ordinal === 2))
        .toMatchObject({ state: 'cancelled', why: 'pod db-2 took the name before the claims were released; they are kept' });
    });

    it('a pod that only looks like the placeholder (volumes, another ordinal, another set) does not count', () => {
      const lookalikes = [
        (p: V1Pod) => (p.spec!.volumes = [{ name: 'd', persistentVolumeClaim: { claimName: 'data-db-2' } }]),
        (p: V1Pod) => (p.metadata!.labels![ORDINAL_LABEL] = '3'),
        (p: V1Pod) => (p.metadata!.labels![SET_LABEL] = 'other'),
        (p: V1Pod) => (p.metadata!.ownerReferences![0]!.uid = 'other'),
      ];
      for (const change of lookalikes) {
        const p = placeholder();
        change(p);
        expect(steps(plan(set, [...live(), drained()], [...replicas, p]).actions)).toEqual(['forget-drained data-db-2']);
      }
    });
  });

  it('never deletes a claim of the same name but another UID (recreated since the drain started)', () => {
    const set = aSet({ replicas: 2, ...fin });
    const drained = aClaim(set, 2, { uid: 'old' });
    const pod = aDrainPod(set, 2, [drained], { phase: 'Succeeded' });
    const fresh = aClaim(set, 2, { uid: 'new' });
    // The fresh claim does not record the pod, so nothing proves the pod drained it.
    expect(steps(plan(set, [fresh], [pod]).actions)).toEqual(['delete-pod db-2 (unproven)']);
  });

  it('a drain pod whose claim is being deleted (by someone else) records nothing, and is deleted', () => {
    const set = aSet({ replicas: 2, ...fin });
    const claim = aClaim(set, 2, { deleting: true });
    const pod = aDrainPod(set, 2, [claim], { phase: 'Succeeded' });
    expect(steps(plan(set, [claim], [pod]).actions)).toEqual(['delete-pod db-2 (drained)']);
  });

  it('does not release a claim the pod lists but does not mount', () => {
    const set = aSet({ replicas: 2, ...fin });
    const claim = aClaim(set, 2);
    const pod = aDrainPod(set, 2, [claim], { phase: 'Succeeded' });
    pod.spec!.volumes = [];
    expect(steps(plan(set, [claim], [pod]).actions)).toEqual(['delete-pod db-2 (drained)']);
  });

  it('a pod already being deleted gets no further action', () => {
    const set = aSet({ replicas: 2, ...fin });
    const claim = aClaim(set, 2);
    const pod = aDrainPod(set, 2, [claim], { phase: 'Succeeded' });
    pod.metadata!.deletionTimestamp = NOW;
    expect(steps(plan(set, [claim], [pod]).actions)).toEqual([]);
  });
});

describe('planSet: failures and retries', () => {
  const set = aSet({ replicas: 2, ...fin });
  const claim = (failures?: number, ago?: number, token?: string) => aClaim(set, 2, {
    annotations: {
      ...(failures === undefined ? {} : { [FAILURES_ANNOTATION]: String(failures), [LAST_FAILURE_ANNOTATION]: failedAt(ago ?? 0) }),
      ...(token === undefined ? {} : { [RETRY_TOKEN_ANNOTATION]: token }),
    },
  });

  it('records a failure on the claims before anything else, and warns', () => {
    const c = claim();
    const result = plan(set, [c], [aDrainPod(set, 2, [c], { phase: 'Failed' })]);
    expect(steps(result.actions)).toEqual(['record-failure data-db-2=1']);
    expect(reports(result.actions)).toEqual(['DrainFailed']);
  });

  it('waits for the backoff, then deletes the failed pod', () => {
    const early = claim(1, 5_000);
    const waiting = plan(set, [early], [aDrainPod(set, 2, [early], { phase: 'Failed' })]);
    expect(steps(waiting.actions)).toEqual([]);
    expect(waiting.requeueAfterMs).toBe(5_000);
    const late = claim(1, 10_000);
    expect(steps(plan(set, [late], [aDrainPod(set, 2, [late], { phase: 'Failed' })]).actions))
      .toEqual(['delete-pod db-2 (retry) forget data-db-2']);
  });

  it('creates the next attempt once the failed pod is gone', () => {
    expect(steps(plan(set, [claim(1, 60_000)], []).actions)).toEqual(['create db-2 [data-db-2] attempt 2']);
  });

  it('a failed drain pod whose claims were deleted by someone else is removed, not retried', () => {
    const gone = claim();
    expect(steps(plan(set, [], [aDrainPod(set, 2, [gone], { phase: 'Failed' })]).actions)).toEqual(['delete-pod db-2 (unproven)']);
    const deleting = aClaim(set, 2, { deleting: true });
    expect(steps(plan(set, [deleting], [aDrainPod(set, 2, [deleting], { phase: 'Failed' })]).actions))
      .toEqual(['delete-pod db-2 (nothing-to-drain)']);
  });

  it('gives up after the last attempt and keeps the failed pod and the claims', () => {
    const c = claim(3, 600_000);
    const result = plan(set, [c], [aDrainPod(set, 2, [c], { phase: 'Failed', attempt: 3 })]);
    expect(steps(result.actions)).toEqual([]);
    expect(result.ordinals[0]!.state).toBe('gave-up');
  });

  it('OrderedReady halts behind an ordinal that gave up, as the StatefulSet halts on a broken pod; Parallel drains the rest', () => {
    for (const policy of ['OrderedReady', 'Parallel'] as const) {
      const s = aSet({ replicas: 1, policy, ...fin });
      const gaveUp = aClaim(s, 2, { annotations: { [FAILURES_ANNOTATION]: '3', [LAST_FAILURE_ANNOTATION]: failedAt(0) } });
      const result = plan(s, [aClaim(s, 0), aClaim(s, 1), gaveUp], [aStatefulPod(s, 0)]);
      expect(steps(result.actions)).toEqual(policy === 'OrderedReady' ? [] : ['create db-1 [data-db-1] attempt 1']);
      expect(result.ordinals.find((o) => o.ordinal === 2)?.state).toBe('gave-up');
    }
  });

  it('the max-attempts annotation overrides the flag', () => {
    const one = aSet({ replicas: 2, ...fin, annotations: { 'statefulsets.kubernetes.io/drainer-max-attempts': '1' } });
    const c = aClaim(one, 2, { annotations: { [FAILURES_ANNOTATION]: '1', [LAST_FAILURE_ANNOTATION]: failedAt(600_000) } });
    expect(steps(plan(one, [c], []).actions)).toEqual([]);
  });

  it('a retry request resets the count, replaces the failed pod and starts again at attempt 1', () => {
    const retrying = aSet({ replicas: 2, ...fin, annotations: { [RETRY_ANNOTATION]: 'r1' } });
    const exhausted = aClaim(retrying, 2, { annotations: { [FAILURES_ANNOTATION]: '3', [LAST_FAILURE_ANNOTATION]: failedAt(0) } });
    const failedPod = aDrainPod(retrying, 2, [exhausted], { phase: 'Failed', attempt: 3 });
    expect(steps(plan(retrying, [exhausted], [failedPod]).actions)).toEqual(['reset data-db-2']);
    const reset =
      recordDrainPod(aClaim(retrying, 2, { annotations: { [FAILURES_ANNOTATION]: '0', [RETRY_TOKEN_ANNOTATION]: 'r1' } }), failedPod);
    expect(steps(plan(retrying, [reset], [failedPod]).actions)).toEqual(['delete-pod db-2 (superseded) forget data-db-2']);
    expect(steps(plan(retrying, [reset], []).actions)).toEqual(['create db-2 [data-db-2] attempt 1']);
  });
});

describe('planSet: scale-up, deadlines, conflicts, deletion', () => {
  it('scale-up over a drain that has not started: delete the drain pod, keep the claim', () => {
    const set = aSet({ replicas: 3, ...fin });
    const c = aClaim(set, 2);
    expect(steps(plan(set, [c], [aDrainPod(set, 2, [c], { phase: 'Pending' })]).actions))
      .toEqual(['delete-pod db-2 (scale-up) forget data-db-2']);
  });

  it('a drain that ends in range after a scale-up, Succeeded or Failed: deleted and forgotten on its claim, nothing released', () => {
    for (const phase of ['Succeeded', 'Failed']) {
      const set = aSet({ replicas: 3, ...fin });
      const c = aClaim(set, 2);
      expect(steps(plan(set, [c], [aDrainPod(set, 2, [c], { phase })]).actions)).toEqual(['delete-pod db-2 (scale-up) forget data-db-2']);
    }
  });

  it('a drain pod the controller ended, still shown by a pod cache behind the claim cache: deleted again, not reported as unproven, ' +
      'nothing released', () => {
    for (const replicas of [2, 3]) {
      const set = aSet({ replicas, ...fin });
      const pod = aDrainPod(set, 2, [aClaim(set, 2)], { phase: 'Succeeded', record: false });
      const claim = aClaim(set, 2, { annotations: { [ENDED_DRAIN_POD_ANNOTATION]: pod.metadata!.uid! } });
      const result = plan(set, [claim], [pod]);
      expect(steps(result.actions)).toEqual(['delete-pod db-2 (ended)']);
      expect(reports(result.actions)).toEqual([]);
    }
  });

  it('a drain pod whose containers were changed after its create (kubectl set image) proves nothing: reported, replaced once finished, ' +
      'nothing released', () => {
    const set = aSet({ replicas: 2, ...fin });
    for (const phase of ['Running', 'Succeeded', 'Failed']) {
      const c = aClaim(set, 2);
      const pod = aDrainPod(set, 2, [c], { phase });
      pod.spec!.containers[0]!.image = 'busybox:evil';
      const result = plan(set, [c], [pod]);
      expect(reports(result.actions)).toEqual(['DrainPodModified']);
      expect(steps(result.actions)).toEqual(phase === 'Running' ? [] : ['delete-pod db-2 (unproven) forget data-db-2']);
      expect(result.ordinals.map((o) => o.state)).toEqual(['unproven']);
    }
  });

  it('a drain pod given an ephemeral container (kubectl debug) proves nothing either', () => {
    const set = aSet({ replicas: 2, ...fin });
    const c = aClaim(set, 2);
    const debugged = aDrainPod(set, 2, [c], { phase: 'Succeeded' });
    debugged.spec!.ephemeralContainers = [{ name: 'debug', image: 'busybox' }];
    expect(steps(plan(set, [c], [debugged]).actions)).toEqual(['delete-pod db-2 (unproven) forget data-db-2']);
  });

  it('a time from the future on a claim is read as now and rewritten as now: the backoff and the delay end, the wake-up is no ' +
      'later than they are', () => {
    const future = '2100-01-01T00:00:00Z';
    const set = aSet({ replicas: 2, ...fin });
    const failed = aClaim(set, 2, { annotations: { [FAILURES_ANNOTATION]: '1', [LAST_FAILURE_ANNOTATION]: future } });
    const backoff = plan(set, [failed], []);
    expect(steps(backoff.actions)).toEqual([`correct last-failure data-db-2=${NOW.toISOString()}`]);
    expect(reports(backoff.actions)).toEqual(['TimeInFuture']);
    expect(backoff.ordinals.map((o) => o.state)).toEqual(['backoff']);
    expect(backoff.requeueAfterMs).toBe(settings.backoffBaseMs);

    const delayed = aSet({ replicas: 2, ...fin, annotations: { [DELAY_ANNOTATION]: '1m' } });
    const marked = aClaim(delayed, 2, { annotations: { [ORPHANED_SINCE_ANNOTATION]: future } });
    const waiting = plan(delayed, [marked], []);
    expect(steps(waiting.actions)).toEqual([`correct orphaned-since data-db-2=${NOW.toISOString()}`]);
    expect(waiting.requeueAfterMs).toBe(60_000);
  });

  it('a time a few seconds ahead (another replica\'s estimate of the API server\'s clock) is read as now, neither rewritten nor ' +
      'reported; one further ahead is', () => {
    const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
    const delayed = aSet({ replicas: 2, ...fin, annotations: { [DELAY_ANNOTATION]: '1m' } });
    const close = plan(delayed, [aClaim(delayed, 2, { annotations: { [ORPHANED_SINCE_ANNOTATION]: at(FUTURE_TOLERANCE_MS) } })], []);
    expect([steps(close.actions), reports(close.actions), close.requeueAfterMs]).toEqual([[], ['DrainDelayed'], 60_000]);
    const far = plan(delayed, [aClaim(delayed, 2, { annotations: { [ORPHANED_SINCE_ANNOTATION]: at(FUTURE_TOLERANCE_MS + 1) } })], []);
    expect(reports(far.actions)).toEqual(['TimeInFuture', 'DrainDelayed']);
  });

  it('a time from the future on a claim of a live replica is left alone (it is not read)', () => {
    const set = aSet({ replicas: 3, ...fin });
    const claim = aClaim(set, 2, { annotations: { [LAST_FAILURE_ANNOTATION]: '2100-01-01T00:00:00Z' } });
    expect(plan(set, [claim], [aStatefulPod(set, 2)]).actions).toEqual([]);
  });

  it('scale-up over a running drain: let it finish', () => {
    const set = aSet({ replicas: 3, ...fin });
    const c = aClaim(set, 2);
    expect(steps(plan(set, [c], [aDrainPod(set, 2, [c], { phase: 'Running', started: NOW })]).actions)).toEqual([]);
  });

  it('reports a drain pod Pending past the deadline once per plan, and leaves it', () => {
    const set = aSet({ replicas: 2, ...fin });
    const c = aClaim(set, 2);
    const pod = aDrainPod(set, 2, [c], { phase: 'Pending', created: new Date(NOW.getTime() - 700_000) });
    const result = plan(set, [c], [pod]);
    expect(steps(result.actions)).toEqual([]);
    expect(reports(result.actions)).toEqual(['DrainStuck']);
  });

  it('requeues for the moment a running drain would pass its deadline', () => {
    const set = aSet({ replicas: 2, ...fin });
    const c = aClaim(set, 2);
    const result = plan(set, [c], [aDrainPod(set, 2, [c], { phase: 'Running', started: new Date(NOW.getTime() - 600_000) })]);
    expect(result.requeueAfterMs).toBe(3_000_000);
  });

  it('whenScaled: Delete is reported and nothing is created', () => {
    const set = aSet({ replicas: 1, whenScaled: 'Delete', ...fin });
    const result = plan(set, [aClaim(set, 0), aClaim(set, 1)], [aStatefulPod(set, 0)]);
    expect(steps(result.actions)).toEqual([]);
    expect(reports(result.actions)).toEqual(['RetentionConflict']);
  });

  it.each([
    ['not JSON', '{nope'],
    ['restartPolicy Always', { spec: { restartPolicy: 'Always', containers: [{ name: 'a', image: 'b' }] } }],
    ['labels adopted by the set', { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'a', image: 'b' }] } }],
  ])('an invalid template (%s) creates nothing and is reported', (_name, template) => {
    const set = aSet({ replicas: 1, template, ...fin });
    const result = plan(set, [aClaim(set, 0), aClaim(set, 1)], [aStatefulPod(set, 0)]);
    expect(steps(result.actions)).toEqual([]);
    expect(reports(result.actions)).toEqual(['InvalidDrainerTemplate']);
  });

  it('an unannotated set is unmanaged: its finalizer is removed, its running drains still finish', () => {
    const set = aSet({ replicas: 1, template: null, ...fin });
    const c = aClaim(set, 1);
    const pod = aDrainPod(aSet({ replicas: 1, ...fin }), 1, [c], { phase: 'Succeeded' });
    const result = plan(set, [c], [pod]);
    expect(result.managed).toBe(false);
    expect(steps(result.actions)).toEqual(['record-drained data-db-1 by db-1', 'delete-pod db-1 (drained)', 'remove-finalizer']);
  });

  it('a deleted set keeps its finalizer while a drain runs and drops it when none is left', () => {
    const set = aSet({ replicas: 1, deleting: true, ...fin });
    const c = aClaim(set, 1);
    expect(steps(plan(set, [c], [aStatefulPod(set, 0), aDrainPod(set, 1, [c], { phase: 'Running', started: NOW })]).actions)).toEqual([]);
    expect(steps(plan(set, [aClaim(set, 0)], [aStatefulPod(set, 0)]).actions)).toEqual(['remove-finalizer']);
  });

  it('foreground deletion starts no new drain', () => {
    const set = aSet({ replicas: 1, deleting: true, finalizers: [FINALIZER, 'foregroundDeletion'] });
    expect(steps(plan(set, [aClaim(set, 1)], []).actions)).toEqual(['remove-finalizer']);
  });
});

describe('planSet: only a drain this controller created for that very ordinal releases anything', () => {
  /** A pod anyone who may create pods can make: the drain labels, an owner reference to the set and a claims list. */
  function lookAlike(set: V1StatefulSet, ordinal: number, claims: V1PersistentVolumeClaim[], phase = 'Succeeded'): V1Pod {
    return aDrainPod(set, ordinal, claims, { phase, record: false });
  }
  const live = aSet({ replicas: 3, ...fin });
  const liveClaims = () => [0, 1, 2].map((o) => aClaim(live, o));
  const livePods = [0, 1, 2].map((o) => aStatefulPod(live, o));

  it('a crafted pod db-99 listing and mounting a live replica\'s claim releases nothing, and is removed once finished', () => {
    const claims = liveClaims();
    const crafted = lookAlike(live, 99, [claims[0]!]);
    expect(crafted.spec!.volumes!.map((v) => v.persistentVolumeClaim?.claimName)).toContain('data-db-0');
    const result = plan(live, claims, [...livePods, crafted]);
    expect(steps(result.actions)).toEqual(['delete-pod db-99 (unproven)']);
    expect(reports(result.actions)).toEqual(['UnprovenDrainPod']);
  });

  it('a crafted pod that copies a real record value still proves nothing: the record names another pod', () => {
    const claims = liveClaims();
    recordDrainPod(claims[0]!, 'uid-of-an-earlier-real-drain');
    expect(steps(plan(live, claims, [...livePods, lookAlike(live, 99, [claims[0]!])]).actions)).toEqual(['delete-pod db-99 (unproven)']);
  });

  describe('a drain pod relabelled by someone who may patch pods (its UID still recorded on the claims)', () => {
    const set = aSet({ replicas: 1, ...fin });
    const relabel: Array<[string, (p: V1Pod) => void]> = [
      ['role label removed', (p) => delete p.metadata!.labels![ROLE_LABEL]],
      ['set label changed', (p) => (p.metadata!.labels![SET_LABEL] = 'another')],
      ['owner reference to another set', (p) => (p.metadata!.ownerReferences![0]!.uid = 'another')],
    ];
    it.each(relabel)('%s: reported as holding its ordinal, releases nothing, and is deleted and forgotten once ' +
        'finished', (_how, change) => {
      for (const phase of ['Running', 'Succeeded']) {
        const claims = [0, 1, 2].map((o) => aClaim(set, o));
        const pod = aDrainPod(set, 2, [claims[2]!], { phase });
        change(pod);
        const result = plan(set, claims, [aStatefulPod(set, 0), pod]);
        expect(reports(result.actions)).toEqual(['DrainPodRelabelled']);
        expect(result.ordinals.find((o) => o.ordinal === 2)).toMatchObject({ state: 'unproven', drainPod: { name: 'db-2', phase } });
        // OrderedReady: ordinal 1 waits behind it; never a claim deleted, never a second pod of its name.
        expect(steps(result.actions)).toEqual(phase === 'Running' ? [] : ['delete-pod db-2 (unproven) forget data-db-2']);
      }
    });
  });

  it('a look-alike of an orphaned ordinal that has not finished holds the ordinal and releases nothing; the operator is ' +
      'told what holds it', () => {
    const set = aSet({ replicas: 1, ...fin });
    const claims = [0, 1, 2].map((o) => aClaim(set, o));
    for (const phase of ['Running', 'Pending']) {
      const result = plan(set, claims, [aStatefulPod(set, 0), lookAlike(set, 2, [claims[2]!], phase)]);
      // OrderedReady: ordinal 1 waits behind the pod holding ordinal 2, as behind any drain.
      expect(steps(result.actions)).toEqual([]);
      expect(result.ordinals.map((o) => `${o.ordinal}:${o.state}`)).toEqual(['2:unproven', '1:blocked']);
      const warning = result.actions.find((a) => a.kind === 'Report');
      expect(warning).toMatchObject({ type: 'Warning', reason: 'UnprovenDrainPod', ordinal: 2 });
      expect(warning!.kind === 'Report' && warning!.message).toMatch(new RegExp(`while it is ${phase} it holds ordinal 2`));
    }
    // Not in its first 30 s: the controller's own new drain pod looks like this until its record is seen.
    const fresh = plan(set, claims, [aStatefulPod(set, 0),
      aDrainPod(set, 2, [claims[2]!], { phase: 'Pending', record: false, created: new Date(NOW.getTime() - 10_000) })]);
    expect(reports(fresh.actions)).toEqual([]);
    expect(fresh.requeueAfterMs).toBe(20_000);
  });

  it('a replica started on a claim this controller released, still being deleted (the StatefulSet controller raced the release): ' +
      'reported, nothing written', () => {
    const set = aSet({ replicas: 3, ...fin });
    const released = recordDrainPod(aClaim(set, 2, { deleting: true }), 'uid-of-the-drain-pod');
    const result = plan(set, [aClaim(set, 0), aClaim(set, 1), released], [0, 1, 2].map((o) => aStatefulPod(set, o)));
    expect(steps(result.actions)).toEqual([]);
    expect(reports(result.actions)).toEqual(['ReplicaOnReleasedClaim']);
    expect(result.ordinals.map((o) => `${o.ordinal}:${o.state}`)).toEqual(['2:replica-on-released-claim']);
    // A claim someone else is deleting (no record of ours) is not reported.
    const theirs = aClaim(set, 2, { deleting: true });
    expect(reports(plan(set, [theirs], [aStatefulPod(set, 2)]).actions)).toEqual([]);
  });

  it('a crash between creating a drain pod and recording it: the finished pod is replaced by a recorded attempt', () => {
    const set = aSet({ replicas: 2, ...fin });
    const claim = aClaim(set, 2);
    expect(steps(plan(set, [claim], [lookAlike(set, 2, [claim])]).actions)).toEqual(['delete-pod db-2 (unproven)']);
    expect(steps(plan(set, [claim], []).actions)).toEqual(['create db-2 [data-db-2] attempt 1']);
  });

  it('a drain pod created for claims already released (a create on a cache behind the release) can never start: it is removed', () => {
    const set = aSet({ replicas: 1, ...fin });
    const gone = aClaim(set, 3);
    const claims = [0, 1, 2].map((o) => aClaim(set, o));
    // Fault ledger, batch 1202404 world 9: the Pending pod held ordinal 3, and OrderedReady held back 2 and 1 behind it.
    const result = plan(set, claims, [aStatefulPod(set, 0), lookAlike(set, 3, [gone], 'Pending')]);
    expect(steps(result.actions)).toEqual(['delete-pod db-3 (nothing-to-drain)']);
    expect(reports(result.actions)).toEqual(['UnprovenDrainPod']);
    // Running, it mounts what it mounts until it ends: it is left to finish, as any unproven pod.
    expect(steps(plan(set, claims, [aStatefulPod(set, 0), lookAlike(set, 3, [gone], 'Running')]).actions)).toEqual([]);
    // In its first 30 s it is left alone: a cache can show a pod Pending that has started already.
    const young = aDrainPod(set, 3, [gone], { phase: 'Pending', record: false, created: new Date(NOW.getTime() - 5_000) });
    expect(steps(plan(set, claims, [aStatefulPod(set, 0), young]).actions)).toEqual([]);
  });

  it('a drain pod whose claims list was edited to name another ordinal\'s claim releases only its own claim', () => {
    const set = aSet({ replicas: 2, ...fin });
    const claims = [0, 1, 2].map((o) => aClaim(set, o));
    const pod = aDrainPod(set, 2, [claims[2]!], { phase: 'Succeeded' });
    pod.metadata!.annotations![CLAIMS_ANNOTATION] = JSON.stringify(claims.map((c) => ({ name: c.metadata!.name, uid: c.metadata!.uid })));
    pod.spec!.volumes = claims.map((c) => ({ name: c.metadata!.name!, persistentVolumeClaim: { claimName: c.metadata!.name! } }));
    expect(steps(plan(set, claims, [aStatefulPod(set, 0), aStatefulPod(set, 1), pod]).actions))
      .toEqual(['record-drained data-db-2 by db-2', 'delete-pod db-2 (drained)']);
  });

  it('a pod whose name and ordinal label disagree is not proven', () => {
    const set = aSet({ replicas: 2, ...fin });
    const claim = aClaim(set, 2);
    const pod = aDrainPod(set, 2, [claim], { phase: 'Succeeded' });
    pod.metadata!.labels![ORDINAL_LABEL] = '1';
    expect(steps(plan(set, [claim], [pod]).actions)).toEqual(['delete-pod db-2 (unproven) forget data-db-2']);
  });

  it('a drain that finishes after the set grew back over its ordinal releases nothing: the claim is the replica\'s again', () => {
    const set = aSet({ replicas: 3, ...fin });
    const claim = aClaim(set, 2);
    const result = plan(set, [claim], [aDrainPod(set, 2, [claim], { phase: 'Succeeded' })]);
    expect(steps(result.actions)).toEqual(['delete-pod db-2 (scale-up) forget data-db-2']);
    expect(reports(result.actions)).toEqual(['DrainCancelled']);
    expect(result.ordinals.find((o) => o.ordinal === 2)?.state).toBe('cancelled');
  });

  it('beside a StatefulSet that is not annotated, a crafted pod changes nothing at all', () => {
    const plain = aSet({ replicas: 1, template: null });
    const claims = [0, 1].map((o) => aClaim(plain, o));
    const crafted = aDrainPod(aSet({ replicas: 1 }), 1, [claims[1]!], { phase: 'Succeeded', record: false });
    const result = plan(plain, claims, [aStatefulPod(plain, 0), crafted]);
    expect(result.actions).toEqual([]);
  });

  it('a claim that another set also identifies (colliding names, copied selector labels) is never drained', () => {
    const ab = aSet({ name: 'a-b', replicas: 1, ...fin });
    const b = aSet({ name: 'b', replicas: 0, templates: ['data-a'], ...fin });
    b.spec!.selector = { matchLabels: { app: 'a-b' } };
    const live = aClaim(ab, 0); // data-a-b-0: ordinal 0 of a-b (live), and "ordinal 0" of b (out of b's range)
    const alone = planSet({ set: b, claims: [live], pods: [], template: parseDrainerTemplate(b),
      templateVerdict: ACCEPTED, now: NOW }, settings);
    expect(steps(alone.actions)).toEqual(['create b-0 [data-a-b-0] attempt 1']);
    const seen = planSet({ set: b, claims: [live], pods: [], rivals: [ab], template: parseDrainerTemplate(b),
      templateVerdict: ACCEPTED, now: NOW }, settings);
    expect(steps(seen.actions)).toEqual([]);
    expect(reports(seen.actions)).toEqual(['AmbiguousClaim']);
  });

  it('a claim whose name another set spells is never drained, even when that set\'s selector changed since (recreated ' +
      'with new labels)', () => {
    const ab = aSet({ name: 'a-b', replicas: 2, ...fin });
    const live = aClaim(ab, 0); // made with labels app: a-b
    ab.spec!.selector = { matchLabels: { app: 'a-b-v2' } };
    const b = aSet({ name: 'b', replicas: 0, templates: ['data-a'], ...fin });
    b.spec!.selector = { matchLabels: { app: 'a-b' } };
    const seen = planSet({ set: b, claims: [live], pods: [], rivals: [ab], template: parseDrainerTemplate(b),
      templateVerdict: ACCEPTED, now: NOW }, settings);
    expect(steps(seen.actions)).toEqual([]);
    expect(reports(seen.actions)).toEqual(['AmbiguousClaim']);
  });

  it('a drain pod whose owner reference the garbage collector stripped (the set deleted with --cascade=orphan) is still seen through, by ' +
      'the set recreated under that name too', () => {
    const old = aSet({ replicas: 2, ...fin });
    const claim = aClaim(old, 2);
    const pod = aDrainPod(old, 2, [claim], { phase: 'Succeeded' });
    pod.metadata!.ownerReferences = undefined;
    const recreated = aSet({ replicas: 2, ...fin });
    recreated.metadata!.uid = 'uid-db-recreated';
    expect(steps(plan(recreated, [claim], [pod]).actions)).toEqual(['record-drained data-db-2 by db-2', 'delete-pod db-2 (drained)']);
    const deleting = aSet({ replicas: 2, ...fin, deleting: true });
    const running = aDrainPod(old, 2, [claim], { phase: 'Running', started: NOW });
    running.metadata!.ownerReferences = undefined;
    expect(steps(plan(deleting, [claim], [running]).actions)).toEqual([]); // the finalizer stays until the drain is over
  });

  it('a pod with the drain labels whose owner reference names another StatefulSet is not this set\'s drain pod: it ' +
      'releases nothing', () => {
    const set = aSet({ replicas: 2, ...fin });
    const claim = aClaim(set, 2);
    const pod = aDrainPod(set, 2, [claim], { phase: 'Succeeded', record: false });
    pod.metadata!.ownerReferences![0]!.uid = 'uid-of-an-earlier-db';
    const result = plan(set, [claim], [pod]);
    expect(steps(result.actions)).toEqual([]);
    expect(result.ordinals.map((o) => o.state)).toEqual(['waiting-for-pod']);
    // Recorded on the claim, it is this controller's own pod, re-owned since: reported, deleted and forgotten, never a release.
    recordDrainPod(claim, pod);
    expect(steps(plan(set, [claim], [pod]).actions)).toEqual(['delete-pod db-2 (unproven) forget data-db-2']);
  });

  it('a claim owned by another StatefulSet is not this set\'s, whatever its name and labels', () => {
    const set = aSet({ replicas: 1, ...fin });
    const claim = aClaim(set, 1);
    claim.metadata!.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'other', uid: 'uid-other' }];
    expect(steps(plan(set, [aClaim(set, 0), claim], [aStatefulPod(set, 0)]).actions)).toEqual([]);
  });

  it('a template whose own volumes name a claim of the set is refused', () => {
    const template = {
      spec: {
        containers: [{ name: 'drain', image: 'busybox', volumeMounts: [{ name: 'steal', mountPath: '/x' }] }],
        volumes: [{ name: 'steal', persistentVolumeClaim: { claimName: 'data-db-0' } }],
      },
    };
    const set = aSet({ replicas: 1, template, ...fin });
    const result = plan(set, [aClaim(set, 0), aClaim(set, 1)], [aStatefulPod(set, 0)]);
    expect(steps(result.actions)).toEqual([]);
    expect(reports(result.actions)).toEqual(['InvalidDrainerTemplate']);
    expect(result.actions.find((a) => a.kind === 'Report'))
      .toMatchObject({ message: expect.stringMatching(/names claim data-db-0, a claim of this StatefulSet/) });
  });
});

describe('planSet: every ordinal state is reachable', () => {
  const set = aSet({ replicas: 1, ...fin });
  const c = (o: number, annotations?: Record<string, string>) => aClaim(set, o, { annotations });
  const cases: Array<[string, () => { claims: V1PersistentVolumeClaim[]; pods: V1Pod[] }, string]> = [
    ['waiting-for-pod', () => ({ claims: [c(1)], pods: [aStatefulPod(set, 1)] }), 'waiting-for-pod'],
    ['pending-drain (to be created)', () => ({ claims: [c(1)], pods: [] }), 'pending-drain'],
    ['pending-drain (Pending)',
      () => { const x = c(1); return { claims: [x], pods: [aDrainPod(set, 1, [x], { phase: 'Pending' })] }; }, 'pending-drain'],
    ['draining', () => { const x = c(1); return { claims: [x], pods: [aDrainPod(set, 1, [x], { phase: 'Running' })] }; }, 'draining'],
    ['succeeded', () => { const x = c(1); return { claims: [x], pods: [aDrainPod(set, 1, [x], { phase: 'Succeeded' })] }; }, 'succeeded'],
    ['failed', () => { const x = c(1); return { claims: [x], pods: [aDrainPod(set, 1, [x], { phase: 'Failed' })] }; }, 'failed'],
    ['backoff', () => ({ claims: [c(1, { [FAILURES_ANNOTATION]: '1', [LAST_FAILURE_ANNOTATION]: failedAt(0) })], pods: [] }), 'backoff'],
    ['gave-up', () => ({ claims: [c(1, { [FAILURES_ANNOTATION]: '3', [LAST_FAILURE_ANNOTATION]: failedAt(0) })], pods: [] }), 'gave-up'],
    ['blocked', () => ({ claims: [c(2), c(1)], pods: [aDrainPod(set, 2, [c(2)], { phase: 'Running' })] }), 'blocked'],
    ['unproven', () => { const x = c(1); return { claims: [x], pods: [aDrainPod(set, 1, [x], { record: false })] }; }, 'unproven'],
  ];
  it.each(cases)('%s', (_name, build, state) => {
    const { claims, pods } = build();
    expect(plan(set, claims, pods).ordinals.find((o) => o.ordinal === 1)?.state).toBe(state);
  });
});

/** The template every set of these tests carries (the fixtures' default). */
const TEMPLATE_TEXT = aSet({ replicas: 1 }).metadata!.annotations![TEMPLATE_ANNOTATION]!;

describe('planSet: the API server\'s verdict on the template', () => {
  const set = aSet({ replicas: 1, ...fin });
  const orphan = () => ({ claims: [aClaim(set, 0), aClaim(set, 1)], pods: [aStatefulPod(set, 0)] });
  const idle = () => ({ claims: [aClaim(set, 0)], pods: [aStatefulPod(set, 0)] });
  const cases: Array<[string, () => { claims: V1PersistentVolumeClaim[]; pods: V1Pod[] }, TemplateVerdict, string[], string[]]> = [
    ['accepted: the drain starts', orphan, { state: 'accepted' }, ['create db-1 [data-db-1] attempt 1'], []],
    ['rejected: reported, nothing created', orphan, { state: 'rejected', problem: 'the API server rejects the drain pod: forbidden' }, [],
      ['InvalidDrainerTemplate']],
    ['found at start-up, a drain is due: not asked; the create is the check', orphan, { state: 'unchecked', atStartup: TEMPLATE_TEXT },
      ['create db-1 [data-db-1] attempt 1'], []],
    ['found at start-up, nothing to drain: not asked', idle, { state: 'unchecked', atStartup: TEMPLATE_TEXT }, [], []],
    ['new or changed: asked at once, even with nothing to drain', idle, { state: 'unchecked' },
      ['verify-template db-1-template-check'], []],
    ['changed since start-up: asked at once', idle, { state: 'unchecked', atStartup: '{"spec":{}}' },
      ['verify-template db-1-template-check'], []],
    ['new or changed, a drain is due: asked once, nothing created yet', orphan, { state: 'unchecked' },
      ['verify-template db-1-template-check'], []],
  ];
  it.each(cases)('%s', (_name, build, verdict, want, wantReports) => {
    const { claims, pods } = build();
    const result = plan(set, claims, pods, NOW, verdict);
    expect(steps(result.actions)).toEqual(want);
    expect(reports(result.actions)).toEqual(wantReports);
    expect(result.invalidTemplate).toBe(verdict.state === 'rejected');
    // Asked: planned again as soon as the verdict can be in.
    expect(result.requeueAfterMs).toBe(want.some((w) => w.startsWith('verify-template')) ? 1 : undefined);
  });
});

describe('planSet: a template found at start-up', () => {
  const verdict: TemplateVerdict = { state: 'unchecked', atStartup: TEMPLATE_TEXT };

  it('on a set with our finalizer (accepted before): nothing asked or written while there is nothing to drain', () => {
    const set = aSet({ replicas: 1, ...fin });
    expect(steps(plan(set, [aClaim(set, 0)], [aStatefulPod(set, 0)], NOW, verdict).actions)).toEqual([]);
  });

  it('on a set with our finalizer, once a drain is due: the drain pod, whose create carries the template to be judged', () => {
    const set = aSet({ replicas: 1, ...fin });
    const actions = plan(set, [aClaim(set, 0), aClaim(set, 1)], [aStatefulPod(set, 0)], NOW, verdict).actions;
    expect(steps(actions)).toEqual(['create db-1 [data-db-1] attempt 1']);
    expect(actions[0]).toMatchObject({ kind: 'CreateDrainPod', templateHash: templateHash(set) });
  });

  it('on a set without our finalizer (annotated while the controller was away): asked at once, nothing else yet', () => {
    const set = aSet({ replicas: 1 });
    expect(steps(plan(set, [aClaim(set, 0)], [aStatefulPod(set, 0)], NOW, verdict).actions))
      .toEqual(['verify-template db-1-template-check']);
    expect(steps(plan(set, [aClaim(set, 0), aClaim(set, 1)], [aStatefulPod(set, 0)], NOW, verdict).actions))
      .toEqual(['verify-template db-1-template-check']);
  });

  it('on a set without our finalizer, once accepted: the finalizer before anything needs it', () => {
    const set = aSet({ replicas: 1 });
    expect(steps(plan(set, [aClaim(set, 0)], [aStatefulPod(set, 0)], NOW, { state: 'accepted' }).actions)).toEqual(['add-finalizer']);
  });

  it('a template already judged is not judged again by the create', () => {
    const set = aSet({ replicas: 1, ...fin });
    const actions = plan(set, [aClaim(set, 0), aClaim(set, 1)], [aStatefulPod(set, 0)], NOW, { state: 'accepted' }).actions;
    expect(actions[0]).toMatchObject({ kind: 'CreateDrainPod' });
    expect(actions[0]).not.toHaveProperty('templateHash');
  });
});

describe('planSet: invalid input changes nothing but events', () => {
  it.each<[string, TemplateVerdict]>([
    ['rejected by the API server', { state: 'rejected', problem: 'the API server rejects the drain pod: x' }],
    ['not yet checked', { state: 'unchecked' }],
    ['found at start-up and not yet checked', { state: 'unchecked', atStartup: TEMPLATE_TEXT }],
  ])('no finalizer on a set whose template is %s', (_name, verdict) => {
    const set = aSet({ replicas: 1 });
    expect(steps(plan(set, [aClaim(set, 0), aClaim(set, 1)], [aStatefulPod(set, 0)], NOW, verdict).actions)).not.toContain('add-finalizer');
  });
});

describe('planSet: the drain timeout', () => {
  const timed = (timeout: string, extra: Record<string, string> = {}) =>
    aSet({ replicas: 2, ...fin, annotations: { 'statefulsets.kubernetes.io/drainer-timeout': timeout, ...extra } });
  const running = (set: V1StatefulSet, claim: V1PersistentVolumeClaim, ageMs: number) =>
    aDrainPod(set, 2, [claim], { phase: 'Running', created: new Date(NOW.getTime() - ageMs), started: new Date(NOW.getTime() - ageMs) });

  it('an attempt past its timeout has failed: recorded on the claims, reported, and stopped', () => {
    const set = timed('10m');
    const claim = aClaim(set, 2);
    const result = plan(set, [claim], [running(set, claim, 11 * 60_000)]);
    expect(steps(result.actions)).toEqual(['record-failure data-db-2=1', 'delete-pod db-2 (timeout) forget data-db-2']);
    expect(reports(result.actions)).toEqual(['DrainTimedOut']);
  });

  it('after a crash between the record and the stop, only the stop is left to do', () => {
    const set = timed('10m');
    const claim = aClaim(set, 2, { annotations: { [FAILURES_ANNOTATION]: '1', [LAST_FAILURE_ANNOTATION]: failedAt(0) } });
    expect(steps(plan(set, [claim], [running(set, claim, 11 * 60_000)]).actions)).toEqual(['delete-pod db-2 (timeout) forget data-db-2']);
  });

  it('before the timeout nothing happens, and the controller looks again when it passes', () => {
    const set = timed('10m');
    const claim = aClaim(set, 2);
    const result = plan(set, [claim], [running(set, claim, 4 * 60_000)]);
    expect(steps(result.actions)).toEqual([]);
    expect(result.requeueAfterMs).toBe(6 * 60_000);
  });

  it('the timed-out attempt counts like an exit 1: with one attempt allowed the ordinal gives up', () => {
    const set = timed('10m', { 'statefulsets.kubernetes.io/drainer-max-attempts': '1' });
    const claim = aClaim(set, 2, { annotations: { [FAILURES_ANNOTATION]: '1', [LAST_FAILURE_ANNOTATION]: failedAt(600_000) } });
    const result = plan(set, [claim], []);
    expect(steps(result.actions)).toEqual([]);
    expect(result.ordinals[0]!.state).toBe('gave-up');
  });

  it.each(['soon', '-5m', '0s', '999h'])('an unusable timeout (%s) is reported with the accepted form, and none applies', (value) => {
    const set = timed(value);
    const claim = aClaim(set, 2);
    const result = plan(set, [claim], [running(set, claim, 30 * 60_000)]);
    expect(steps(result.actions)).toEqual([]);
    expect(reports(result.actions)).toEqual(['InvalidDrainTimeout']);
    expect(result.actions.find((a) => a.kind === 'Report'))
      .toMatchObject({ message: expect.stringMatching(/between 1s and 168h \(e\.g\. 30m, 2h\); using no timeout$/) });
  });
});

describe('planSet: the drain delay (autoscaled sets)', () => {
  const delayed = (extra: SetShapeExtra = {}) =>
    aSet({ replicas: 2, ...fin, ...extra, annotations: { 'statefulsets.kubernetes.io/drainer-delay': '10m', ...extra.annotations } });
  const markedAgo = (ms: number) => ({ [ORPHANED_SINCE_ANNOTATION]: new Date(NOW.getTime() - ms).toISOString() });

  it('a newly orphaned ordinal is marked, reported with its start time, and waits', () => {
    const set = delayed();
    const result = plan(set, [aClaim(set, 0), aClaim(set, 1), aClaim(set, 2)], [aStatefulPod(set, 0), aStatefulPod(set, 1)]);
    expect(steps(result.actions)).toEqual(['mark data-db-2']);
    expect(reports(result.actions)).toEqual(['DrainDelayed']);
    expect(result.ordinals[0]).toMatchObject({ ordinal: 2, state: 'delayed', startsAt: new Date(NOW.getTime() + 600_000).toISOString() });
    expect(result.requeueAfterMs).toBe(600_000);
  });

  it('waits out the delay from the mark on the claim (which survives restarts), then drains', () => {
    const set = delayed();
    const early = plan(set, [aClaim(set, 2, { annotations: markedAgo(240_000) })], []);
    expect(steps(early.actions)).toEqual([]);
    expect(early.requeueAfterMs).toBe(360_000);
    expect(steps(plan(set, [aClaim(set, 2, { annotations: markedAgo(600_000) })], []).actions))
      .toEqual(['create db-2 [data-db-2] attempt 1']);
  });

  it('a scale-up within the delay gets the claim back untouched but for the mark, which is removed', () => {
    const set = delayed({ replicas: 3 });
    expect(steps(plan(set, [aClaim(set, 2, { annotations: markedAgo(60_000) })], [aStatefulPod(set, 2)]).actions))
      .toEqual(['unmark data-db-2']);
  });

  it('OrderedReady: every orphan starts its delay at once; the drains still go one at a time, highest first', () => {
    const set = delayed();
    const claims = [0, 1, 2, 3, 4].map((o) => aClaim(set, o));
    expect(steps(plan(set, claims, [aStatefulPod(set, 0), aStatefulPod(set, 1)]).actions))
      .toEqual(['mark data-db-4', 'mark data-db-3', 'mark data-db-2']);
    const due = [0, 1, 2, 3, 4].map((o) => aClaim(set, o, { annotations: o > 1 ? markedAgo(600_000) : undefined }));
    expect(steps(plan(set, due, [aStatefulPod(set, 0), aStatefulPod(set, 1)]).actions)).toEqual(['create db-4 [data-db-4] attempt 1']);
  });

  it('a retry after a failed attempt is not delayed again (backoff applies)', () => {
    const set = delayed();
    const claim = aClaim(set, 2,
      { annotations: { ...markedAgo(600_000), [FAILURES_ANNOTATION]: '1', [LAST_FAILURE_ANNOTATION]: failedAt(60_000) } });
    expect(steps(plan(set, [claim], []).actions)).toEqual(['create db-2 [data-db-2] attempt 2']);
  });

  it('an unusable delay is reported with the accepted form, and the drain starts without one', () => {
    const set = delayed({ annotations: { 'statefulsets.kubernetes.io/drainer-delay': 'a while' } });
    const result = plan(set, [aClaim(set, 2)], []);
    expect(steps(result.actions)).toEqual(['create db-2 [data-db-2] attempt 1']);
    expect(reports(result.actions)).toEqual(['InvalidDrainDelay']);
  });
});

describe('planSet: every ordinal says why it is where it is', () => {
  it.each<[string, () => { set: V1StatefulSet; claims: V1PersistentVolumeClaim[]; pods: V1Pod[] }, RegExp]>([
    ['the replica still terminating', () => { const s = aSet({ replicas: 1, ...fin }); return { set: s, claims: [aClaim(s, 1)],
      pods: [aStatefulPod(s, 1)] }; }, /pod db-1 still exists \(the replica is terminating\)/],
    ['OrderedReady order', () => { const s = aSet({ replicas: 1, ...fin }); const c2 = aClaim(s, 2); return { set: s,
      claims: [aClaim(s, 1), c2], pods: [aDrainPod(s, 2, [c2])] }; }, /OrderedReady: waits until the drain of a higher ordinal is over/],
    ['an invalid template', () => { const s = aSet({ replicas: 1, template: '{nope', ...fin }); return { set: s, claims: [aClaim(s, 1)],
      pods: [] }; }, /no drain can start: the drainer template is invalid/],
    ['a drain that gave up, with the command to retry', () => { const s = aSet({ replicas: 1, ...fin }); return { set: s,
      claims: [aClaim(s, 1, { annotations: { [FAILURES_ANNOTATION]: '3', [LAST_FAILURE_ANNOTATION]: failedAt(0) } })], pods: [] }; },
      new RegExp(/every attempt failed \(3 of 3\); the claims are kept\. To retry: kubectl annotate statefulset db /.source +
        /statefulsets\.kubernetes\.io\/drainer-retry=\$\(date \+%s\) --overwrite/.source)],
    ['a running drain', () => { const s = aSet({ replicas: 1, ...fin }); const c = aClaim(s, 1); return { set: s, claims: [c],
      pods: [aDrainPod(s, 1, [c])] }; }, /drain pod db-1 is running \(attempt 1\)/],
  ])('%s', (_name, build, why) => {
    const { set, claims, pods } = build();
    expect(plan(set, claims, pods).ordinals.find((o) => o.ordinal === 1)?.why).toMatch(why);
  });
});

describe('planSet: the counts the set\'s gauges show', () => {
  const zero = { orphanedClaims: 0, delayed: 0, stuckDrains: 0, gaveUp: 0, held: 0, invalid: false };
  const set = aSet({ replicas: 1, ...fin });
  const orphans = () => [aClaim(set, 0), aClaim(set, 1), aClaim(set, 2)];

  it('orphaned ordinals count their claims, whether draining, queued or delayed', () => {
    expect(plan(set, orphans(), [aStatefulPod(set, 0)]).summary).toEqual({ ...zero, orphanedClaims: 2 });
    const delayed = aSet({ replicas: 1, ...fin, annotations: { [DELAY_ANNOTATION]: '10m' } });
    expect(plan(delayed, [aClaim(delayed, 0), aClaim(delayed, 1)], [aStatefulPod(delayed, 0)]).summary)
      .toEqual({ ...zero, orphanedClaims: 1, delayed: 1 });
  });

  it('an ordinal held by a drain pod nobody recorded counts as held, its claims not as orphaned; a drain in flight counts them', () => {
    const old = new Date(NOW.getTime() - 60_000);
    // Made with a claim of its own: the claim the planner sees does not record it.
    const lookAlike = aDrainPod(set, 1, [aClaim(set, 1)], { phase: 'Running', created: old, started: old });
    expect(plan(set, [aClaim(set, 0), aClaim(set, 1)], [aStatefulPod(set, 0), lookAlike]).summary).toEqual({ ...zero, held: 1 });
    const ours = aClaim(set, 1);
    expect(plan(set, [aClaim(set, 0), ours], [aStatefulPod(set, 0), aDrainPod(set, 1, [ours], { phase: 'Running' })]).summary)
      .toEqual({ ...zero, orphanedClaims: 1 });
  });

  it('a replica still terminating holds no orphan yet; a rejected template is counted as invalid', () => {
    expect(plan(set, orphans().slice(0, 2), [aStatefulPod(set, 0), aStatefulPod(set, 1)]).summary).toEqual(zero);
    expect(plan(set, orphans(), [aStatefulPod(set, 0)], NOW, { state: 'rejected', problem: 'no' }).summary)
      .toMatchObject({ invalid: true });
  });
});

describe('which sets are planned at all', () => {
  const plain = (): V1StatefulSet => { const set = aSet({ template: null }); delete set.metadata!.annotations; return set; };

  it('a set with the template annotation and claim templates is managed; without either it is not', () => {
    expect(isManaged(aSet())).toBe(true);
    expect(isManaged(aSet({ templates: [] }))).toBe(false);
    expect(isManaged(plain())).toBe(false);
  });

  it('a set is planned when managed, when it carries the finalizer, or when a drain pod or placeholder of it exists', () => {
    const set = plain();
    const unlabelled: V1Pod = { metadata: { name: 'db-0' } };
    expect(needsPlanning(set, [aStatefulPod(set, 0), unlabelled])).toBe(false);
    expect(needsPlanning(aSet(), [])).toBe(true);
    expect(needsPlanning(aSet({ template: null, finalizers: [FINALIZER] }), [])).toBe(true);
    expect(needsPlanning(set, [unlabelled, aDrainPod(aSet(), 2, [])])).toBe(true);
    expect(needsPlanning(set, [unlabelled, buildPlaceholder(aSet(), 'busybox', 2)])).toBe(true);
  });

  it('a template verdict is for one set, one template text and one set of claim templates', () => {
    const base = templateHash(aSet());
    const other = aSet();
    other.metadata!.uid = 'uid-other';
    expect(templateHash(other)).not.toBe(base);
    expect(templateHash(aSet({ template: { ...drainTemplate, metadata: { labels: { app: 'x' } } } }))).not.toBe(base);
    expect(templateHash(aSet({ templates: ['data', 'logs'] }))).not.toBe(base);
    expect(templateHash(aSet())).toBe(base);
  });

  it('the API server is asked about a drain pod of the first ordinal past the range, mounting that ordinal\'s claims, under a ' +
      'name no pod has', () => {
    const set = aSet({ replicas: 3, templates: ['data', 'logs'] });
    const check = plan(set, [], [], NOW, { state: 'unchecked' }).actions.find((a) => a.kind === 'VerifyTemplate');
    expect(check?.kind === 'VerifyTemplate' && check.pod.metadata!.name).toBe('db-3-template-check');
    expect(check?.kind === 'VerifyTemplate' && check.pod.spec!.volumes).toEqual([
      { name: 'data', persistentVolumeClaim: { claimName: 'data-db-3' } },
      { name: 'logs', persistentVolumeClaim: { claimName: 'logs-db-3' } },
    ]);
  });
});
