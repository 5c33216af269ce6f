// The executor against an in-memory API: order, stopping at the first failure, what 404 and 409 mean,
// the record that proves a drain pod, the fresh read of the set before a release, event dedupe and the
// leadership check.
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { ApiDrainControl, type DrainApi } from '../../src/controller/drain-control.ts';
import { NotLeaderError, TemplateRefusedError, VolumeNotKeptError } from '../../src/controller/errors.ts';
import { Executor, type ExecutorOptions } from '../../src/controller/executor.ts';
import { FakeDrainControl } from './fakes/drain-control.ts';
import { ReleaseRefusedError, StaleCacheError } from '../../src/controller/release-guard.ts';
import type { EventInput, EventRecorder } from '../../src/controller/events.ts';
import { TemplateVerdicts } from '../../src/controller/template-verifier.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { CLAIMS_ANNOTATION, DRAIN_POD_ANNOTATION, DRAIN_POD_CONTAINERS_ANNOTATION, DRAINED_ANNOTATION,
  ENDED_DRAIN_POD_ANNOTATION, KEPT_CLAIM_UID_ANNOTATION, KEPT_POLICY_ANNOTATION, KEPT_UNTIL_ANNOTATION, KEPT_VOLUME_LABEL,
} from '../../src/planner/keys.ts';
import { readKeptVolume } from '../../src/planner/kept-volumes.ts';
import { claimSeen } from '../../src/planner/drain-pod.ts';
import { buildPlaceholder } from '../../src/planner/placeholder.ts';
import { containersDigest, drainedRecord } from '../../src/planner/release-proof.ts';
import type { Action } from '../../src/planner/types.ts';
import { apiError, emptyQueue, quietLogger, recordingLogger } from './fakes/cluster.ts';
import { aClaim, aDrainPod, aSet } from './fixtures.ts';

const set = aSet({ replicas: 2, templates: ['data', 'wal'] });
set.metadata!.generation = 7;

/** Ordinal 2 as etcd has it: claims data-db-2 (c2) and wal-db-2 (w2), and their Succeeded drain pod db-2 (p2), recorded on both. */
function drainedOrdinal(): { pods: Map<string, V1Pod>; claims: Map<string, V1PersistentVolumeClaim> } {
  const claims = [aClaim(set, 2, { uid: 'c2' }), aClaim(set, 2, { template: 'wal', uid: 'w2' })];
  claims.forEach((c, i) => (c.metadata!.resourceVersion = String(10 + i)));
  const drainPod = aDrainPod(set, 2, claims, { phase: 'Succeeded', record: false });
  drainPod.metadata!.uid = 'p2';
  for (const c of claims) c.metadata!.annotations = { [DRAIN_POD_ANNOTATION]: 'p2',
    [DRAIN_POD_CONTAINERS_ANNOTATION]: containersDigest(drainPod) };
  return { pods: new Map([['db-2', drainPod]]), claims: new Map(claims.map((c) => [c.metadata!.name!, c])) };
}

/** The same ordinal one step on: the success recorded on both claims, the drain pod gone, placeholder db-2 (h2) holding the name. */
function releasableOrdinal(api: FakeApi): void {
  for (const c of api.claims.values()) Object.assign(c.metadata!.annotations!, drainedRecord('p2', 7));
  const placeholder = buildPlaceholder(set, 'drainer', 2);
  placeholder.metadata!.uid = 'h2';
  api.pods.set('db-2', placeholder);
}

class FakeApi implements DrainApi {
  readonly calls: string[] = [];
  /** The StatefulSet as the API server has it now (undefined: deleted). */
  current: V1StatefulSet | undefined = set;
  /** Errors to answer with, by call (e.g. `deleteClaim data-db-2`). */
  readonly failures = new Map<string, Error>();
  /** Pods and claims as a quorum read finds them. */
  readonly pods: Map<string, V1Pod>;
  readonly claims: Map<string, V1PersistentVolumeClaim>;

  constructor() {
    ({ pods: this.pods, claims: this.claims } = drainedOrdinal());
  }

  private answer(call: string): void {
    this.calls.push(call);
    const failure = this.failures.get(call);
    if (failure) throw failure;
  }

  async createPod(pod: V1Pod, dryRun = false): Promise<V1Pod> {
    this.answer(`createPod${dryRun ? ' (dry run)' : ''} ${pod.metadata!.name}`);
    return { ...pod, metadata: { ...pod.metadata, uid: `uid-of-${pod.metadata!.name}` } };
  }
  async deletePod(_ns: string, name: string, uid: string): Promise<void> {
    this.answer(`deletePod ${name}@${uid}`);
  }
  async deleteClaim(_ns: string, name: string, uid: string, resourceVersion?: string): Promise<void> {
    this.answer(`deleteClaim ${name}@${uid} rv=${resourceVersion}`);
  }
  /** Answers each accepted patch with the claim's next resourceVersion (`<sent or 0>+1`). */
  async annotateClaim(_ns: string, name: string, uid: string, annotations: Record<string, string | null>,
      resourceVersion?: string): Promise<string> {
    this.answer(`annotateClaim ${name}@${uid}${resourceVersion ? ` rv=${resourceVersion}` : ''} ${JSON.stringify(annotations)}`);
    return `${resourceVersion ?? '0'}+1`;
  }
  async setFinalizers(_ns: string, name: string): Promise<void> {
    this.answer(`setFinalizers ${name}`);
  }
  async getStatefulSet(_ns: string, name: string): Promise<V1StatefulSet> {
    this.answer(`getStatefulSet ${name}`);
    if (!this.current) throw apiError(404);
    return this.current;
  }
  async getPod(_ns: string, name: string): Promise<V1Pod> {
    this.answer(`getPod ${name}`);
    const found = this.pods.get(name);
    if (!found) throw apiError(404);
    return found;
  }
  async getClaim(_ns: string, name: string): Promise<V1PersistentVolumeClaim> {
    this.answer(`getClaim ${name}`);
    const found = this.claims.get(name);
    if (!found) throw apiError(404);
    return found;
  }
  /** Volumes as a quorum read finds them (none unless a test binds one). */
  readonly volumes = new Map<string, V1PersistentVolume>();
  async getVolume(name: string): Promise<V1PersistentVolume> {
    this.answer(`getVolume ${name}`);
    const found = this.volumes.get(name);
    if (!found) throw apiError(404);
    return found;
  }
  /** Applies the patch's labels, annotations and reclaim policy (a merge patch, as the API server would). */
  async patchVolume(name: string, uid: string, resourceVersion: string,
      patch: { metadata?: { labels?: object; annotations?: object }; spec?: object }): Promise<void> {
    this.answer(`patchVolume ${name}@${uid} rv=${resourceVersion}`);
    const volume = this.volumes.get(name)!;
    volume.metadata = { ...volume.metadata, labels: { ...volume.metadata?.labels, ...patch.metadata?.labels },
      annotations: { ...volume.metadata?.annotations, ...patch.metadata?.annotations } };
    volume.spec = { ...volume.spec, ...patch.spec };
  }
}

/** Binds `api`'s claim `name` to a new volume `pv-<name>` (policy Delete, uid `v-<name>`, resourceVersion 5), as a provisioner would. */
function bindVolume(api: FakeApi, name: string): V1PersistentVolume {
  const claim = api.claims.get(name)!;
  claim.spec = { volumeName: `pv-${name}` };
  const volume: V1PersistentVolume = {
    metadata: { name: `pv-${name}`, uid: `v-${name}`, resourceVersion: '5' },
    spec: { persistentVolumeReclaimPolicy: 'Delete', claimRef: { namespace: 'ns', name, uid: claim.metadata!.uid } },
    status: { phase: 'Bound' },
  };
  api.volumes.set(volume.metadata!.name!, volume);
  return volume;
}

/** The executor over the drain control that writes through `api`, as `run` assembles them. */
function executorOver(api: DrainApi, events: Pick<EventRecorder, 'record'>, verdicts: TemplateVerdicts, metrics: Metrics,
    options: ExecutorOptions): Executor {
  return new Executor(new ApiDrainControl(api, events, verdicts, metrics, quietLogger(), options.isLeader),
    metrics, quietLogger(), options);
}

function setUp(options: { dryRun?: boolean; leader?: boolean } = {}) {
  const api = new FakeApi();
  const events: EventInput[] = [];
  const verdicts = new TemplateVerdicts();
  const metrics = new Metrics(emptyQueue);
  const executor = executorOver(api, { record: (_set: V1StatefulSet, e: EventInput) => events.push(e) }, verdicts, metrics,
    { dryRun: options.dryRun ?? false, isLeader: () => options.leader ?? true });
  return { api, events, verdicts, metrics, executor };
}

const pod = (name: string): V1Pod => ({ metadata: { name, namespace: 'ns' } });
const claim = { name: 'data-db-2', uid: 'c2' };
const create: Action = { kind: 'CreateDrainPod', ordinal: 2, pod: pod('db-2'), claims: [claim], attempt: 1 };
/** A plan's RecordDrained for drain pod p2, made from `api`'s claims `names` as they are now (the cache caught up). */
const recordOn = (api: FakeApi, ...names: string[]): Action => ({ kind: 'RecordDrained', ordinal: 2,
  claims: (names.length > 0 ? names : ['data-db-2']).map((n) => claimSeen(api.claims.get(n)!)), drainPod: { name: 'db-2', uid: 'p2' },
  generation: 7 });
const cleanUp: Action = { kind: 'DeleteDrainPod', ordinal: 2, pod: { name: 'db-2', uid: 'p2' }, reason: 'drained' };
/** A plan's DeleteClaim of `name` under placeholder h2, made from `api`'s claim as it is now. */
const releaseOf = (api: FakeApi, name = 'data-db-2'): Action =>
  ({ kind: 'DeleteClaim', ordinal: 2, claim: claimSeen(api.claims.get(name)!), placeholder: { name: 'db-2', uid: 'h2' } });
const freeName: Action = { kind: 'DeletePlaceholder', ordinal: 2, pod: { name: 'db-2', uid: 'h2' }, reason: 'released' };
const drained = JSON.stringify(drainedRecord('p2', 7));

describe('Executor', () => {
  it('records the created drain pod\'s UID on each of its claims, right after the create', async () => {
    const { api, executor } = setUp();
    await executor.execute(set, [create]);
    const record = { [DRAIN_POD_ANNOTATION]: 'uid-of-db-2', [DRAIN_POD_CONTAINERS_ANNOTATION]: containersDigest(pod('db-2')) };
    expect(api.calls)
      .toEqual(['getStatefulSet db', 'getClaim data-db-2', 'createPod db-2', `annotateClaim data-db-2@c2 ${JSON.stringify(record)}`]);
  });

  it('reads the set from etcd before creating drain pods (once per plan): a scale-up a silent watch hid starts no drain', async () => {
    const { api, executor } = setUp();
    api.current = aSet({ replicas: 3, templates: ['data', 'wal'] });
    await expect(executor.execute(set, [create])).rejects.toBeInstanceOf(StaleCacheError);
    expect(api.calls).toEqual(['getStatefulSet db']);
    const parallel = setUp();
    const another: Action = { ...create, ordinal: 3, pod: pod('db-3'), claims: [{ name: 'wal-db-2', uid: 'w2' }] } as Action;
    await parallel.executor.execute(set, [create, another]);
    expect(parallel.api.calls.filter((c) => c.startsWith('getStatefulSet'))).toEqual(['getStatefulSet db']);
  });

  it('reads the claims from etcd before creating their drain pod: a claim changed or gone since the plan starts no drain', async () => {
    const changed = setUp();
    await expect(changed.executor.execute(set,
      [{ ...create, claims: [{ ...claim, resourceVersion: '9' }] } as Action])).rejects.toThrow(/data-db-2 changed since the plan/);
    const both: Action = { ...create,
      claims: [{ ...claim, resourceVersion: '9' }, { name: 'wal-db-2', uid: 'w2', resourceVersion: '9' }] } as Action;
    await expect(setUp().executor.execute(set, [both])).rejects.toThrow(/claim\(s\) data-db-2, wal-db-2 changed since the plan/);
    expect(changed.api.calls.filter((c) => !c.startsWith('get'))).toEqual([]);
    const gone = setUp();
    gone.api.claims.delete('data-db-2');
    await expect(gone.executor.execute(set, [create])).rejects.toBeInstanceOf(StaleCacheError);
    expect(gone.api.calls.filter((c) => !c.startsWith('get'))).toEqual([]);
    const same = setUp();
    await same.executor.execute(set, [{ ...create, claims: [{ ...claim, resourceVersion: '10' }] } as Action]);
    expect(same.api.calls).toContain('createPod db-2');
  });

  it('a taken name (409 on create) records nothing and is not an error', async () => {
    const { api, metrics, executor } = setUp();
    api.failures.set('createPod db-2', apiError(409));
    await executor.execute(set, [create]);
    expect(api.calls).toEqual(['getStatefulSet db', 'getClaim data-db-2', 'createPod db-2']);
    expect((await metrics.drainsStarted.get()).values[0]?.value ?? 0).toBe(0);
  });

  it('stops at the first failed action: nothing after it is attempted', async () => {
    const { api, executor } = setUp();
    api.failures.set(`annotateClaim data-db-2@c2 rv=10 ${drained}`, apiError(500));
    await expect(executor.execute(set, [recordOn(api), cleanUp])).rejects.toThrow('HTTP 500');
    expect(api.calls).toEqual(['getStatefulSet db', 'getPod db-2', `annotateClaim data-db-2@c2 rv=10 ${drained}`]);
  });

  it('records a drain\'s success on its claims as the plan saw them (their resourceVersion), then deletes the drain pod', async () => {
    const { api, metrics, executor } = setUp();
    await executor.execute(set, [recordOn(api, 'data-db-2', 'wal-db-2'), cleanUp]);
    expect(api.calls).toEqual([
      'getStatefulSet db', 'getPod db-2', `annotateClaim data-db-2@c2 rv=10 ${drained}`, `annotateClaim wal-db-2@w2 rv=11 ${drained}`,
      'deletePod db-2@p2',
    ]);
    expect((await metrics.drainsSucceeded.get()).values[0]?.value).toBe(1);
    expect((await metrics.claimsReleased.get()).values[0]?.value ?? 0).toBe(0);
  });

  it('reads the set afresh once per plan before recording a success: a scale-up the cache had not seen records nothing', async () => {
    const { api, executor } = setUp();
    api.current = aSet({ replicas: 3, templates: ['data', 'wal'] });
    await expect(executor.execute(set, [recordOn(api), cleanUp])).rejects.toBeInstanceOf(StaleCacheError);
    expect(api.calls).toEqual(['getStatefulSet db']);
  });

  describe('the release proof is read afresh from etcd before a success is recorded: a cache older than the claim\'s last use ' +
      'records nothing', () => {
    const refusals: Array<[string, (api: FakeApi) => void, RegExp]> = [
      ['the drain pod is gone (deleted after a scale-up; the pod watch was silent)', (api) => api.pods.delete('db-2'),
        /drain pod no longer exists/],
      ['another pod holds the name (the returning replica)', (api) => { api.pods.get('db-2')!.metadata!.uid = 'replica'; },
        /drain pod no longer exists/],
      ['the drain pod has not Succeeded', (api) => { api.pods.get('db-2')!.status = { phase: 'Running' }; },
        /has not Succeeded \(Running\)/],
      ['the claim no longer records the pod (its drain ended without a release)',
        (api) => { api.claims.get('data-db-2')!.metadata!.annotations = {}; }, /does not record pod db-2/],
      ['the drain pod\'s image was changed after it was created',
        (api) => { api.pods.get('db-2')!.spec!.containers[0]!.image = 'busybox:evil'; }, /containers of drain pod db-2 were changed/],
      ['the claim lost the set\'s selector labels', (api) => { api.claims.get('data-db-2')!.metadata!.labels = {}; },
        /not the StatefulSet's claim of ordinal 2/],
      ['the drain pod does not list the claim', (api) => { api.pods.get('db-2')!.metadata!.annotations![CLAIMS_ANNOTATION] = '[]'; },
        /does not list claim data-db-2/],
      ['the drain pod does not mount the claim', (api) => { api.pods.get('db-2')!.spec!.volumes = []; }, /does not mount claim data-db-2/],
      ['the claim is being deleted', (api) => { api.claims.get('data-db-2')!.metadata!.deletionTimestamp = new Date(); },
        /is being deleted/],
    ];
    it.each(refusals)('%s', async (_name, change, why) => {
      const { api, metrics, executor } = setUp();
      change(api);
      await expect(executor.execute(set, [recordOn(api), cleanUp])).rejects.toThrow(ReleaseRefusedError);
      await expect(executor.execute(set, [recordOn(api), cleanUp])).rejects.toThrow(why);
      expect(api.calls.filter((c) => c.startsWith('delete') || c.startsWith('annotate'))).toEqual([]);
      expect((await metrics.releasesRefused.get()).values[0]?.value).toBe(2);
    });

    it('a plan behind this controller\'s own record of the success (the pod deleted since): nothing written, not a refusal', async () => {
      const { api, metrics, executor } = setUp();
      const behind = recordOn(api);
      const stored = api.claims.get('data-db-2')!;
      api.claims.set('data-db-2', { ...stored, metadata: { ...stored.metadata, resourceVersion: '12',
        annotations: { ...stored.metadata!.annotations, ...drainedRecord('p2', 7) } } });
      api.pods.delete('db-2');
      await executor.execute(set, [behind]);
      expect(api.calls).toEqual(['getStatefulSet db', 'getPod db-2', 'getClaim data-db-2']);
      expect((await metrics.releasesRefused.get()).values[0]?.value ?? 0).toBe(0);
    });

    it('the plan\'s pod UID must be the one etcd has: a plan made for an earlier drain pod of the name records nothing', async () => {
      const { api, executor } = setUp();
      const earlier: Action = { ...recordOn(api), drainPod: { name: 'db-2', uid: 'an-earlier-pod' } } as Action;
      await expect(executor.execute(set, [earlier])).rejects.toThrow(/drain pod no longer exists/);
      expect(api.calls.filter((c) => c.startsWith('delete') || c.startsWith('annotate'))).toEqual([]);
    });
  });

  describe('a drained claim is deleted only while the placeholder holds the name, each condition read again from etcd', () => {
    it('deletes each claim by UID and resourceVersion; the placeholder goes once no claim of the ordinal is being deleted', async () => {
      const { api, metrics, events, executor } = setUp();
      releasableOrdinal(api);
      await executor.execute(set, [releaseOf(api), releaseOf(api, 'wal-db-2')]);
      expect(api.calls).toEqual([
        'getPod db-2', 'getStatefulSet db', 'deleteClaim data-db-2@c2 rv=10', 'getStatefulSet db', 'deleteClaim wal-db-2@w2 rv=11',
      ]);
      expect((await metrics.claimsReleased.get()).values[0]?.value).toBe(2);

      api.calls.length = 0;
      api.claims.get('data-db-2')!.metadata!.deletionTimestamp = new Date();
      await expect(executor.execute(set, [freeName])).rejects.toThrow(/data-db-2 of ordinal 2 are still being deleted/);
      expect(api.calls.filter((c) => c.startsWith('delete'))).toEqual([]);
      api.claims.clear();
      await executor.execute(set, [freeName]);
      expect(api.calls.filter((c) => c.startsWith('delete'))).toEqual(['deletePod db-2@h2']);
      expect(events.map((e) => e.reason)).toEqual(['ClaimReleased', 'ClaimReleased', 'DrainCompleted']);
    });

    const refusals: Array<[string, (api: FakeApi) => void, RegExp]> = [
      ['no placeholder: the name is free', (api) => api.pods.delete('db-2'), /no placeholder holds ordinal 2's name/],
      ['another pod holds the name (the returning replica)', (api) => { api.pods.get('db-2')!.metadata!.uid = 'replica'; },
        /no placeholder holds/],
      ['the placeholder is being deleted', (api) => { api.pods.get('db-2')!.metadata!.deletionTimestamp = new Date(); },
        /no placeholder holds/],
      ['the set changed since the drain succeeded', (api) => { api.current = { ...set, metadata: { ...set.metadata, generation: 8 } }; },
        /changed since the drain .* \(generation 7, now 8\)/],
      ['the claim records no successful drain',
        (api) => { delete api.claims.get('data-db-2')!.metadata!.annotations![DRAINED_ANNOTATION]; }, /records no successful drain/],
      ['the recorded drain is not the claim\'s drain pod',
        (api) => { api.claims.get('data-db-2')!.metadata!.annotations![DRAIN_POD_ANNOTATION] = 'p3'; }, /is not its recorded drain pod/],
    ];
    it.each(refusals)('refused: %s', async (_name, change, why) => {
      const { api, executor } = setUp();
      releasableOrdinal(api);
      change(api);
      await expect(executor.execute(set, [releaseOf(api)])).rejects.toThrow(why);
      expect(api.calls.filter((c) => c.startsWith('delete'))).toEqual([]);
    });

    it('a claim delete answered 404 (gone) counts as done, not released; 409 (changed since read) is an error', async () => {
      const { api, metrics, executor } = setUp();
      releasableOrdinal(api);
      api.failures.set('deleteClaim data-db-2@c2 rv=10', apiError(404));
      await executor.execute(set, [releaseOf(api)]);
      expect((await metrics.claimsReleased.get()).values[0]?.value ?? 0).toBe(0);
      api.failures.set('deleteClaim data-db-2@c2 rv=10', apiError(409));
      await expect(executor.execute(set, [releaseOf(api)])).rejects.toThrow('HTTP 409');
    });
  });

  describe('a kept set\'s claim: its volume is kept (Retain, marked) before the claim is deleted, or the claim is not deleted', () => {
    const keep = { drainPodUid: 'p2', at: '2026-12-04T01:00:00.000Z', until: '2026-12-07T01:00:00.000Z' };
    const keptRelease = (api: FakeApi): Action => ({ ...releaseOf(api), keep } as Action);

    it('sets the volume to Retain and marks it with the claim, the drain pod and the keep, then deletes the claim', async () => {
      const { api, metrics, events, executor } = setUp();
      releasableOrdinal(api);
      const volume = bindVolume(api, 'data-db-2');
      await executor.execute(set, [keptRelease(api)]);
      // The keep first, so that the proof's read of the set is the last before the delete.
      expect(api.calls).toEqual(['getClaim data-db-2', 'getVolume pv-data-db-2', 'patchVolume pv-data-db-2@v-data-db-2 rv=5',
        'getPod db-2', 'getStatefulSet db', 'deleteClaim data-db-2@c2 rv=10']);
      expect(volume.spec?.persistentVolumeReclaimPolicy).toBe('Retain');
      expect(readKeptVolume(volume)).toEqual({ namespace: 'ns', claim: 'data-db-2', claimUid: 'c2', statefulset: 'db', setUid: 'uid-db',
        ordinal: 2, drainPodUid: 'p2', keptAt: keep.at, until: keep.until, policyBefore: 'Delete' });
      expect(events.map((e) => e.reason)).toEqual(['VolumeKept', 'ClaimReleased']);
      expect((await metrics.volumesKept.get()).values[0]?.value).toBe(1);
    });

    it('a volume already kept for this claim (a retry after a crash before the delete) is not written again', async () => {
      const { api, executor } = setUp();
      releasableOrdinal(api);
      bindVolume(api, 'data-db-2');
      api.failures.set('deleteClaim data-db-2@c2 rv=10', apiError(503));
      await expect(executor.execute(set, [keptRelease(api)])).rejects.toThrow('HTTP 503');
      api.failures.clear();
      api.calls.length = 0;
      await executor.execute(set, [keptRelease(api)]);
      expect(api.calls.filter((c) => !c.startsWith('get'))).toEqual(['deleteClaim data-db-2@c2 rv=10']);
    });

    it('a retry long after the keep was written (its end more than a tenth of the keep, at most a minute, short) writes it again ' +
        'with this release\'s end, so the volume is still kept for the whole keep after the claim goes', async () => {
      const { api, executor } = setUp();
      releasableOrdinal(api);
      const volume = bindVolume(api, 'data-db-2');
      api.failures.set('deleteClaim data-db-2@c2 rv=10', apiError(503));
      const HOUR = 3_600_000;
      const at = (ms: number) => new Date(Date.parse(keep.at) + ms).toISOString();
      const hourKeep = (since: number) => ({ ...keptRelease(api), keep: { ...keep, at: at(since), until: at(since + HOUR) } } as Action);
      await expect(executor.execute(set, [hourKeep(0)])).rejects.toThrow('HTTP 503');
      api.calls.length = 0;
      await expect(executor.execute(set, [hourKeep(60_000)])).rejects.toThrow('HTTP 503');
      expect(api.calls.filter((c) => c.startsWith('patch'))).toEqual([]);
      await expect(executor.execute(set, [hourKeep(60_001)])).rejects.toThrow('HTTP 503');
      expect(api.calls.filter((c) => c.startsWith('patch'))).toEqual(['patchVolume pv-data-db-2@v-data-db-2 rv=5']);
      expect(readKeptVolume(volume)).toMatchObject({ drainPodUid: 'p2', keptAt: at(60_001), until: at(60_001 + HOUR),
        policyBefore: 'Delete' });
    });

    it('a keep of an earlier drain of this claim (release called off) is written again, with the policy from before it', async () => {
      const { api, executor } = setUp();
      releasableOrdinal(api);
      const volume = bindVolume(api, 'data-db-2');
      const earlier = { ...keep, drainPodUid: 'p1', until: '2026-11-01T00:00:00.000Z' };
      await executor.execute(set, [{ ...keptRelease(api), keep: earlier } as Action]);
      api.calls.length = 0;
      await executor.execute(set, [keptRelease(api)]);
      expect(api.calls.filter((c) => c.startsWith('patch'))).toEqual(['patchVolume pv-data-db-2@v-data-db-2 rv=5']);
      expect(readKeptVolume(volume)).toMatchObject({ drainPodUid: 'p2', until: keep.until, policyBefore: 'Delete' });
    });

    const notKept: Array<[string, (api: FakeApi, volume: V1PersistentVolume) => void, RegExp]> = [
      ['the claim is bound to no volume', (api) => { api.claims.get('data-db-2')!.spec = {}; }, /bound to no volume/],
      ['its volume is gone', (api) => api.volumes.clear(), /volume pv-data-db-2 is gone/],
      ['its volume is bound to another claim', (_api, v) => { v.spec!.claimRef!.uid = 'another'; }, /bound to another claim/],
      ['the controller may not read volumes', (api) => api.failures.set('getVolume pv-data-db-2', apiError(403)),
        /may not get persistentvolumes/],
      ['the controller may not patch volumes', (api) => api.failures.set('patchVolume pv-data-db-2@v-data-db-2 rv=5', apiError(403)),
        /may not patch persistentvolumes/],
    ];
    it.each(notKept)('not kept, so not released: %s', async (_name, change, why) => {
      const { api, events, executor } = setUp();
      releasableOrdinal(api);
      change(api, bindVolume(api, 'data-db-2'));
      const failed = executor.execute(set, [keptRelease(api)]);
      await expect(failed).rejects.toBeInstanceOf(VolumeNotKeptError);
      await expect(failed).rejects.toThrow(why);
      expect(api.calls.filter((c) => c.startsWith('delete'))).toEqual([]);
      expect(events.map((e) => `${e.type} ${e.reason}`)).toEqual(['Warning VolumeNotKept']);
    });

    it('a volume patch refused as changed since it was read (409) is retried from a fresh read, the claim kept meanwhile', async () => {
      const { api, executor } = setUp();
      releasableOrdinal(api);
      bindVolume(api, 'data-db-2');
      api.failures.set('patchVolume pv-data-db-2@v-data-db-2 rv=5', apiError(409));
      await expect(executor.execute(set, [keptRelease(api)])).rejects.toThrow('HTTP 409');
      expect(api.calls.filter((c) => c.startsWith('delete'))).toEqual([]);
    });

    it('a claim replaced since the plan saw it: no keep, no delete', async () => {
      const { api, executor } = setUp();
      releasableOrdinal(api);
      bindVolume(api, 'data-db-2');
      const action = keptRelease(api);
      api.claims.get('data-db-2')!.metadata!.uid = 'c2-again';
      await expect(executor.execute(set, [action])).rejects.toBeInstanceOf(StaleCacheError);
      expect(api.calls.filter((c) => c.startsWith('delete') || c.startsWith('patch'))).toEqual([]);
    });

    it('without a keep the volume is neither read nor written', async () => {
      const { api, executor } = setUp();
      releasableOrdinal(api);
      const volume = bindVolume(api, 'data-db-2');
      await executor.execute(set, [releaseOf(api)]);
      expect(api.calls.filter((c) => c.includes('Volume'))).toEqual([]);
      expect(volume.metadata?.labels?.[KEPT_VOLUME_LABEL]).toBeUndefined();
      expect(volume.metadata?.annotations?.[KEPT_UNTIL_ANNOTATION] ?? volume.metadata?.annotations?.[KEPT_CLAIM_UID_ANNOTATION] ??
        volume.metadata?.annotations?.[KEPT_POLICY_ANNOTATION]).toBeUndefined();
    });
  });

  it('a called-off release removes the drained record and the drain pod record, and keeps that pod as ended', async () => {
    const { api, executor } = setUp();
    await executor.execute(set,
      [{ kind: 'ForgetDrained', ordinal: 2, claims: [{ ...claim, resourceVersion: '41', drainedPodUid: 'p2' }] }]);
    const forgotten = { [DRAINED_ANNOTATION]: null, [DRAIN_POD_ANNOTATION]: null, [DRAIN_POD_CONTAINERS_ANNOTATION]: null,
      [ENDED_DRAIN_POD_ANNOTATION]: 'p2' };
    expect(api.calls).toEqual([`annotateClaim data-db-2@c2 rv=41 ${JSON.stringify(forgotten)}`]);
  });

  it('a drain that ends without a release forgets its record on the claims, after the pod is deleted (also when it was ' +
      'gone already)', async () => {
    for (const answer of [undefined, apiError(404)]) {
      const { api, executor } = setUp();
      if (answer) api.failures.set('deletePod db-2@p2', answer);
      await executor.execute(set,
        [{ kind: 'DeleteDrainPod', ordinal: 2, pod: { name: 'db-2', uid: 'p2' }, reason: 'scale-up', forget: [claim] }]);
      const forgotten = { [DRAIN_POD_ANNOTATION]: null, [DRAIN_POD_CONTAINERS_ANNOTATION]: null, [ENDED_DRAIN_POD_ANNOTATION]: 'p2' };
      expect(api.calls).toEqual(['deletePod db-2@p2', `annotateClaim data-db-2@c2 ${JSON.stringify(forgotten)}`]);
    }
  });

  describe('every claim write is conditional on the resourceVersion the plan decided on', () => {
    const seen = { ...claim, resourceVersion: '10' };
    const writes: Action[] = [
      { ...create, claims: [seen] } as Action,
      { kind: 'RecordFailure', ordinal: 2, claims: [seen], failures: 1, at: '2026-12-02T00:00:00Z' },
      { kind: 'ResetFailures', ordinal: 2, claims: [seen], retryToken: 't' },
      { kind: 'CorrectTime', ordinal: 2, claims: [seen], annotation: 'a', at: '2026-12-02T00:00:00Z' },
      { kind: 'MarkOrphaned', ordinal: 2, claims: [seen], at: '2026-12-02T00:00:00Z' },
      { kind: 'DeleteDrainPod', ordinal: 2, pod: { name: 'db-2', uid: 'p2' }, reason: 'scale-up', forget: [seen] },
    ];
    it.each(writes.map((a) => [a.kind, a] as const))('%s sends the version it saw, and a claim changed since (409) fails the ' +
        'plan', async (_kind, action) => {
      const { api, executor } = setUp();
      await executor.execute(set, [action]);
      const patches = api.calls.filter((c) => c.startsWith('annotateClaim'));
      expect(patches).toHaveLength(1);
      expect(patches[0]).toMatch(/^annotateClaim data-db-2@c2 rv=10 /);

      const stale = setUp();
      stale.api.failures.set(patches[0]!, apiError(409));
      await expect(stale.executor.execute(set, [action])).rejects.toMatchObject({ code: 409 });
    });

    it('a drain pod whose record is refused (the claim changed since the plan) is withdrawn, not left to drain unproven', async () => {
      const { api, executor } = setUp();
      const record = { [DRAIN_POD_ANNOTATION]: 'uid-of-db-2', [DRAIN_POD_CONTAINERS_ANNOTATION]: containersDigest(pod('db-2')) };
      api.failures.set(`annotateClaim data-db-2@c2 rv=10 ${JSON.stringify(record)}`, apiError(409));
      await expect(executor.execute(set, [{ ...create, claims: [seen] } as Action])).rejects.toMatchObject({ code: 409 });
      expect(api.calls).toEqual(['getStatefulSet db', 'getClaim data-db-2', 'createPod db-2',
        `annotateClaim data-db-2@c2 rv=10 ${JSON.stringify(record)}`, 'deletePod db-2@uid-of-db-2']);
    });

    it('a second write of one claim in a plan is conditional on the first (the version it answered), not on the cache', async () => {
      const { api, executor } = setUp();
      await executor.execute(set, [
        { kind: 'RecordFailure', ordinal: 2, claims: [seen], failures: 1, at: '2026-12-02T00:00:00Z' },
        { kind: 'DeleteDrainPod', ordinal: 2, pod: { name: 'db-2', uid: 'p2' }, reason: 'timeout', forget: [seen] },
      ]);
      expect(api.calls.filter((c) => c.startsWith('annotateClaim')).map((c) => c.split(' ')[2])).toEqual(['rv=10', 'rv=10+1']);
    });
  });

  it('a set deleted or replaced (another UID) since the plan: nothing released', async () => {
    const { api, executor } = setUp();
    api.current = undefined;
    await expect(executor.execute(set, [releaseOf(api)])).rejects.toThrow(/deleted or replaced/);
    api.current = { ...set, metadata: { ...set.metadata, uid: 'another' } };
    await expect(executor.execute(set, [releaseOf(api)])).rejects.toThrow(/deleted or replaced/);
    expect(api.calls.filter((c) => c.startsWith('deleteClaim'))).toEqual([]);
  });

  it('reports a state once per process, however often it is planned', async () => {
    const { events, executor } = setUp();
    const report: Action = { kind: 'Report', type: 'Warning', reason: 'DrainStuck', message: 'stuck', dedupeKey: 'p2/stuck-Pending' };
    await executor.execute(set, [report]);
    await executor.execute(set, [report]);
    expect(events.map((e) => e.reason)).toEqual(['DrainStuck']);
  });

  it('refuses to write once leadership is lost', async () => {
    const { api, executor } = setUp({ leader: false });
    await expect(executor.execute(set, [create])).rejects.toBeInstanceOf(NotLeaderError);
    expect(api.calls).toEqual([]);
  });

  it('asks for leadership before every write, not once per action: paused between a drain pod\'s create and its record, it sends ' +
      'no record', async () => {
    let leading = true;
    const api = new FakeApi();
    const createPod = api.createPod.bind(api);
    api.createPod = async (p: V1Pod) => {
      const created = await createPod(p);
      leading = false; // the renew deadline passed while this replica was stopped
      return created;
    };
    const executor = executorOver(api, { record: () => {} }, new TemplateVerdicts(), new Metrics(emptyQueue),
      { dryRun: false, isLeader: () => leading });
    await expect(executor.execute(set, [create])).rejects.toBeInstanceOf(NotLeaderError);
    expect(api.calls).toEqual(['getStatefulSet db', 'getClaim data-db-2', 'createPod db-2']);
  });

  it('keeps the API server\'s verdict on a template, also in --dry-run, where nothing else is written', async () => {
    const { api, verdicts, executor } = setUp({ dryRun: true });
    api.failures.set('createPod (dry run) db-2-template-check', apiError(422, 'spec.containers[0].image: Required value'));
    await executor.execute(set, [{ kind: 'VerifyTemplate', pod: pod('db-2-template-check'), templateHash: 'h1' }, create]);
    expect(verdicts.get('ns/db', 'h1'))
      .toEqual({ state: 'rejected', problem: 'the API server rejects the drain pod: spec.containers[0].image: Required value' });
    expect(api.calls).toEqual(['createPod (dry run) db-2-template-check']);
  });

  it('the controller\'s own RBAC refusal is not a template verdict: it fails the reconcile loudly', async () => {
    const { api, verdicts, executor } = setUp();
    api.failures.set('createPod (dry run) db-2-template-check', apiError(403, 'pods is forbidden: User "x" cannot create resource "pods"'));
    await expect(executor.execute(set,
      [{ kind: 'VerifyTemplate', pod: pod('db-2-template-check'), templateHash: 'h1' }])).rejects.toThrow('cannot create resource');
    expect(verdicts.get('ns/db', 'h1')).toBeUndefined();
  });

  describe('the first drain pod of a template found at start-up is its check', () => {
    const firstTry: Action = { ...create, templateHash: 'h1' } as Action;

    it('created: the template is accepted', async () => {
      const { api, verdicts, executor } = setUp();
      await executor.execute(set, [firstTry]);
      expect(verdicts.get('ns/db', 'h1')).toEqual({ state: 'accepted' });
      expect(api.calls[2]).toBe('createPod db-2');
    });

    it('refused by admission: the template is rejected, nothing else is written', async () => {
      const { api, verdicts, executor } = setUp();
      api.failures.set('createPod db-2', apiError(403, 'pods "db-2" is forbidden: violates PodSecurity "baseline:latest": privileged'));
      await expect(executor.execute(set, [firstTry, releaseOf(api)])).rejects.toBeInstanceOf(TemplateRefusedError);
      expect(verdicts.get('ns/db', 'h1'))
        .toEqual({ state: 'rejected', problem: expect.stringMatching(/^the API server rejects the drain pod: .*violates PodSecurity/) });
      expect(api.calls).toEqual(['getStatefulSet db', 'getClaim data-db-2', 'createPod db-2']);
    });

    it('an outage or the controller\'s own RBAC refusal is no verdict', async () => {
      for (const failure of [apiError(503, 'unavailable'), apiError(403, 'pods is forbidden: User "x" cannot create resource "pods"')]) {
        const { api, verdicts, executor } = setUp();
        api.failures.set('createPod db-2', failure);
        await expect(executor.execute(set, [firstTry])).rejects.toBe(failure);
        expect(verdicts.get('ns/db', 'h1')).toBeUndefined();
      }
    });

    it('a template already judged: a refused create stays an error to retry, not a verdict', async () => {
      const { api, verdicts, executor } = setUp();
      const quota = apiError(403, 'pods "db-2" is forbidden: exceeded quota: pods');
      api.failures.set('createPod db-2', quota);
      await expect(executor.execute(set, [create])).rejects.toBe(quota);
      expect(verdicts.get('ns/db', 'h1')).toBeUndefined();
    });
  });
});

describe('the executor\'s own rules, over an in-memory drain control', () => {
  const drainPodOf = (ordinal: number): Action => ({ kind: 'CreateDrainPod', ordinal, pod: pod(`db-${ordinal}`), claims: [], attempt: 1 });
  const mark = (ordinal: number): Action => ({ kind: 'MarkOrphaned', ordinal, claims: [], at: 'now' });
  const over = (control: FakeDrainControl, options: Partial<ExecutorOptions> = {}, log = quietLogger(),
      metrics = new Metrics(emptyQueue)) =>
    new Executor(control, metrics, log, { dryRun: false, isLeader: () => true, ...options });

  it('drain pods planned together are created together; what follows waits for all of them', async () => {
    const control = new FakeDrainControl();
    let letGo = () => {};
    control.hold.set('createDrainPod 3', new Promise<void>((resolve) => (letGo = resolve)));
    const done = over(control).execute(set, [drainPodOf(3), drainPodOf(2), mark(1)]);
    await new Promise((r) => setImmediate(r));
    expect(control.started).toEqual(['createDrainPod 3', 'createDrainPod 2']);
    letGo();
    await done;
    expect(control.finished).toEqual(['createDrainPod 2', 'createDrainPod 3', 'markOrphaned 1']);
  });

  it('one failed create of a batch fails the plan after its siblings are done; nothing after the batch runs', async () => {
    const control = new FakeDrainControl();
    control.fail.set('createDrainPod 3', new Error('refused'));
    await expect(over(control).execute(set, [drainPodOf(3), drainPodOf(2), mark(1)])).rejects.toThrow('refused');
    expect(control.finished).toEqual(['createDrainPod 2']);
  });

  it('--dry-run performs only the template check', async () => {
    const control = new FakeDrainControl();
    const verify: Action = { kind: 'VerifyTemplate', pod: pod('db-x'), templateHash: 'h' };
    await over(control, { dryRun: true }).execute(set, [drainPodOf(2), verify, mark(1)]);
    expect(control.started).toEqual(['verifyTemplate']);
  });

  it('a replica that does not lead performs nothing', async () => {
    const control = new FakeDrainControl();
    await expect(over(control, { isLeader: () => false }).execute(set, [mark(1)])).rejects.toBeInstanceOf(NotLeaderError);
    expect(control.started).toEqual([]);
  });

  it('hands each action to the drain control\'s method for it', async () => {
    const claims = [{ name: 'data-db-3', uid: 'c3' }];
    const cases: Array<[Action, string]> = [
      [{ kind: 'AddFinalizer' }, 'addFinalizer'],
      [{ kind: 'RemoveFinalizer' }, 'removeFinalizer'],
      [drainPodOf(3), 'createDrainPod 3'],
      [{ kind: 'CreatePlaceholder', ordinal: 3, pod: pod('db-3') }, 'createPlaceholder 3'],
      [{ kind: 'RecordFailure', ordinal: 3, claims, failures: 1, message: 'failed' }, 'recordFailure 3'],
      [{ kind: 'ResetFailures', ordinal: 3, claims, retryToken: 't' }, 'resetFailures 3'],
      [{ kind: 'CorrectTime', ordinal: 3, claims, annotation: 'x', value: 'now' }, 'correctTime 3'],
      [mark(3), 'markOrphaned 3'],
      [{ kind: 'Report', type: 'Normal', reason: 'DrainStarted', message: 'm', dedupeKey: 'k', ordinal: 3 }, 'report 3'],
    ] as never;
    for (const [action, method] of cases) {
      const control = new FakeDrainControl();
      await over(control).execute(set, [action]);
      expect(control.started).toEqual([method]);
    }
  });

  it('only drain pods are created together: an action before them finishes first', async () => {
    const control = new FakeDrainControl();
    let letGo = () => {};
    control.hold.set('markOrphaned 1', new Promise<void>((resolve) => (letGo = resolve)));
    const done = over(control).execute(set, [mark(1), drainPodOf(3), drainPodOf(2)]);
    await new Promise((r) => setImmediate(r));
    expect(control.started).toEqual(['markOrphaned 1']);
    letGo();
    await done;
    expect(control.started).toEqual(['markOrphaned 1', 'createDrainPod 3', 'createDrainPod 2']);
  });

  it('--dry-run logs each action it would perform, with its set, and a report once', async () => {
    const control = new FakeDrainControl();
    const log = recordingLogger();
    const executor = over(control, { dryRun: true }, log);
    const report: Action = { kind: 'Report', type: 'Warning', reason: 'DrainStuck', message: 'stuck', dedupeKey: 'p3/stuck', ordinal: 3 };
    await executor.execute(set, [mark(1), report]);
    await executor.execute(set, [report]);
    expect(log.lines.map((l) => [l.level, l.message, l.meta.statefulset, l.meta.action])).toEqual([
      ['info', 'dry run: would perform', 'ns/db', 'MarkOrphaned'],
      ['info', 'dry run: would perform', 'ns/db', 'Report'],
    ]);
    expect(control.started).toEqual([]);
  });

  it('logs a failed action at the level it deserves: a refused release as a warning (and counted), a stale plan, a lost ' +
      'lease or a refused template as information, a conflict as information, anything else as an error', async () => {
    const cases: Array<[Error, string, string, number]> = [
      [new ReleaseRefusedError('release refused: the claim changed'), 'warn', 'release refused: the claim changed', 1],
      [new StaleCacheError('the set is back in range'), 'info', 'the set is back in range', 0],
      [new NotLeaderError(), 'info', 'not the leader: refusing to write', 0],
      [new TemplateRefusedError('template refused'), 'info', 'template refused', 0],
      [apiError(409, 'conflict'), 'info', 'action failed', 0],
      [apiError(500, 'etcd timeout'), 'error', 'action failed', 0],
    ];
    for (const [failure, level, message, refused] of cases) {
      const control = new FakeDrainControl();
      control.fail.set('markOrphaned 1', failure);
      const log = recordingLogger();
      const metrics = new Metrics(emptyQueue);
      await expect(over(control, {}, log, metrics).execute(set, [mark(1)]))
        .rejects.toBe(failure);
      expect(log.lines.map((l) => [l.level, l.message, l.meta.statefulset, l.meta.action]))
        .toEqual([[level, message, 'ns/db', 'MarkOrphaned']]);
      if (message === 'action failed') expect(log.lines[0]?.meta.status).toBe((failure as { code?: number }).code);
      expect((await metrics.releasesRefused.get()).values[0]?.value ?? 0).toBe(refused);
    }
  });

  it('forgets the reports it made once it remembers 100,000 (memory stays bounded), and so reports again', async () => {
    const control = new FakeDrainControl();
    const executor = over(control);
    const report = (key: string): Action => ({ kind: 'Report', type: 'Normal', reason: 'DrainStarted', message: 'm', dedupeKey: key });
    await executor.execute(set, [report('first')]);
    await executor.execute(set, Array.from({ length: 99_999 }, (_, i) => report(`other-${i}`)));
    await executor.execute(set, [report('first')]);
    expect(control.started.length).toBe(100_000);
    await executor.execute(set, [report('one-more')]);
    await executor.execute(set, [report('first')]);
    expect(control.started.length).toBe(100_002);
  });
});
