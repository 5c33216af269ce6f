// The end of keeps, against an in-memory API: only the leader writes; the set of a keep that is over is read
// from etcd; the patch puts the policy back and drops the label, conditional on the volume as listed; a
// conflict waits for the next pass; volumes of namespaces not watched are not this instance's.
import { jest } from '@jest/globals';
import type { V1PersistentVolume, V1StatefulSet } from '@kubernetes/client-node';
import { VolumeKeeper, type KeeperApi } from '../../src/controller/volume-keeper.ts';
import { keepMarks, type KeptVolume } from '../../src/planner/kept-volumes.ts';
import { KEPT_VOLUME_LABEL, RESTORED_AT_ANNOTATION } from '../../src/planner/keys.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import type { EventInput } from '../../src/controller/events.ts';
import { apiError, emptyQueue, quietLogger, recordingLogger } from './fakes/cluster.ts';
import { aSet, NOW } from './fixtures.ts';

const HOUR = 3_600_000;

function aKeptVolume(name: string, over: Partial<KeptVolume>): V1PersistentVolume {
  const marks: KeptVolume = { namespace: 'ns', claim: `data-db-${name}`, claimUid: `c-${name}`, statefulset: 'db', setUid: 'uid-db',
    ordinal: 3,
    drainPodUid: 'p', keptAt: NOW.toISOString(), until: new Date(NOW.getTime() - HOUR).toISOString(), policyBefore: 'Delete', ...over };
  return {
    metadata: { name, uid: `uid-${name}`, resourceVersion: '5', ...keepMarks(marks) },
    spec: { persistentVolumeReclaimPolicy: 'Retain', capacity: { storage: '1Ki' }, claimRef: { uid: marks.claimUid } },
    status: { phase: 'Released' },
  };
}

class FakeKeeperApi implements KeeperApi {
  readonly calls: string[] = [];
  volumes: V1PersistentVolume[] = [];
  sets = new Map<string, V1StatefulSet>();
  patchFailure?: Error;
  listFailure?: Error;
  async listVolumes(options: { labelSelector?: string } = {}) {
    this.calls.push(`listVolumes ${options.labelSelector}`);
    if (this.listFailure) throw this.listFailure;
    return { items: this.volumes };
  }
  async patchVolume(name: string, uid: string, resourceVersion: string, patch: object): Promise<void> {
    this.calls.push(`patchVolume ${name}@${uid} rv=${resourceVersion} ${JSON.stringify(patch)}`);
    if (this.patchFailure) throw this.patchFailure;
  }
  async getStatefulSet(namespace: string, name: string): Promise<V1StatefulSet> {
    this.calls.push(`getStatefulSet ${namespace}/${name}`);
    const set = this.sets.get(`${namespace}/${name}`);
    if (!set) throw apiError(404);
    return set;
  }
}

/** `now`: the API server's time as the keeper has it; by default the fixtures' NOW, far from this machine's clock. */
function setUp(options: { leader?: boolean; namespaces?: string[]; log?: ReturnType<typeof recordingLogger>; now?: () => number } = {}) {
  const api = new FakeKeeperApi();
  const metrics = new Metrics(emptyQueue);
  const events: EventInput[] = [];
  const keeper = new VolumeKeeper(api, options.namespaces ?? [], { record: (_s, e) => events.push(e) }, metrics,
    options.log ?? quietLogger(), () => options.leader ?? true, 60_000, options.now ?? (() => NOW.getTime()));
  return { api, metrics, events, keeper };
}

const gauge = async (metrics: Metrics, state: string) =>
  (await metrics.keptVolumes.get()).values.find((v) => v.labels.state === state)?.value;

describe('VolumeKeeper', () => {
  it('a keep that is over, its set read from etcd and below it: the policy put back and the label dropped, conditionally', async () => {
    const { api, metrics, events, keeper } = setUp();
    api.volumes = [aKeptVolume('pv-a', {})];
    api.sets.set('ns/db', aSet({ replicas: 2 }));
    await keeper.pass();
    expect(api.calls).toEqual([`listVolumes ${KEPT_VOLUME_LABEL}=true`, 'getStatefulSet ns/db',
      `patchVolume pv-a@uid-pv-a rv=5 ${JSON.stringify({ metadata: { labels: { [KEPT_VOLUME_LABEL]: null } },
        spec: { persistentVolumeReclaimPolicy: 'Delete' } })}`]);
    expect(events).toEqual([{ type: 'Normal', reason: 'VolumeReclaimed', action: 'ReclaimVolume', note: `the keep of volume pv-a ` +
      `(claim data-db-pv-a, ordinal 3) ended at ${new Date(NOW.getTime() - HOUR).toISOString()}; its reclaim policy is Delete again` }]);
    expect((await metrics.volumesReclaimed.get()).values[0]?.value).toBe(1);
  });

  it('a restored volume bound to its new claim: its policy put back, counted as a restore (not a keep that ended)', async () => {
    const { api, metrics, events, keeper } = setUp();
    const volume = aKeptVolume('pv-a', { until: new Date(NOW.getTime() + HOUR).toISOString() });
    volume.metadata!.annotations![RESTORED_AT_ANNOTATION] = NOW.toISOString();
    volume.spec!.claimRef = { namespace: 'ns', name: 'data-db-pv-a', uid: 'new-claim' };
    volume.status = { phase: 'Bound' };
    api.volumes = [volume];
    api.sets.set('ns/db', aSet({ replicas: 4 }));
    await keeper.pass();
    expect(api.calls.at(-1)).toMatch(/^patchVolume pv-a@uid-pv-a rv=5 /);
    expect(events).toEqual([{ type: 'Normal', reason: 'VolumeRestoreDone', action: 'ReclaimVolume', note: 'volume pv-a is restored: ' +
      'bound to the new claim data-db-pv-a (ordinal 3); its reclaim policy is Delete again, so it lives and dies with that claim' }]);
    expect([(await metrics.volumesRestored.get()).values[0]?.value, (await metrics.volumesReclaimed.get()).values[0]?.value])
      .toEqual([1, 0]);
  });

  it('the set gone: reclaimed, and said in the log only (no set to record an event on)', async () => {
    const log = recordingLogger();
    const { api, events, keeper } = setUp({ log });
    api.volumes = [aKeptVolume('pv-a', {})];
    await keeper.pass();
    expect(api.calls.filter((c) => c.startsWith('patch'))).toHaveLength(1);
    expect(events).toEqual([]);
    expect(log.lines).toEqual([{ level: 'info',
      message: expect.stringMatching(/^the keep of volume pv-a \(claim data-db-pv-a, ordinal 3\)/),
      meta: expect.objectContaining({ statefulset: 'ns/db', volume: 'pv-a' }) }]);
  });

  it('each state counted, the bytes of what is still kept summed, held and edited counted as past their keep', async () => {
    const { api, metrics, keeper } = setUp();
    const edited = aKeptVolume('pv-edited', {});
    edited.spec!.persistentVolumeReclaimPolicy = 'Delete';
    api.volumes = [aKeptVolume('pv-kept', { until: new Date(NOW.getTime() + HOUR).toISOString() }), edited,
      aKeptVolume('pv-held', { statefulset: 'big' }), aKeptVolume('pv-due', {})];
    api.sets.set('ns/big', aSet({ name: 'big', replicas: 9 }));
    api.volumes[2]!.metadata!.annotations!['drain.statefulsets.kubernetes.io/kept-statefulset-uid'] = 'uid-big';
    await keeper.pass();
    expect([await gauge(metrics, 'kept'), await gauge(metrics, 'held'), await gauge(metrics, 'edited')]).toEqual([1, 1, 1]);
    expect((await metrics.keptVolumeBytes.get()).values[0]?.value).toBe(3 * 1024);
    expect((await metrics.keptVolumesPastExpiry.get()).values[0]?.value).toBe(2);
    // Each set read once, only for keeps that are over.
    expect(api.calls.filter((c) => c.startsWith('get'))).toEqual(['getStatefulSet ns/db', 'getStatefulSet ns/big']);
  });

  it('says why of each volume held or left alone once, at its level, again when the reason changes or it comes back', async () => {
    const log = recordingLogger();
    const { api, keeper } = setUp({ log });
    const edited = aKeptVolume('pv-edited', {});
    edited.spec!.persistentVolumeReclaimPolicy = 'Delete';
    api.volumes = [edited, aKeptVolume('pv-held', {})];
    api.sets.set('ns/db', aSet({ replicas: 9 }));
    await keeper.pass();
    await keeper.pass();
    expect(log.lines.map((l) => [l.level, l.message, l.meta.volume, l.meta.state])).toEqual([
      ['warn', 'kept volume: its reclaim policy was changed to Delete since it was kept; left alone', 'pv-edited', 'edited'],
      ['info', expect.stringMatching(/^kept volume: its keep ended at .*, but ordinal 3 is in range of StatefulSet db again/), 'pv-held',
        'held'],
    ]);
    api.volumes = [aKeptVolume('pv-held', {})];
    await keeper.pass();
    api.volumes = [edited, aKeptVolume('pv-held', {})];
    await keeper.pass();
    expect(log.lines.map((l) => l.meta.volume)).toEqual(['pv-edited', 'pv-held', 'pv-edited']);
  });

  it('a volume gone since the list (404) is no error either', async () => {
    const { api, keeper } = setUp();
    api.volumes = [aKeptVolume('pv-a', {})];
    api.patchFailure = apiError(404);
    await expect(keeper.pass()).resolves.toBe(60_000);
  });

  it('keeps not over: no set read, nothing written, the next pass when the first ends; counted and their bytes summed', async () => {
    const { api, metrics, keeper } = setUp();
    api.volumes = [aKeptVolume('pv-a', { until: new Date(NOW.getTime() + 5_000).toISOString() }),
      aKeptVolume('pv-b', { until: new Date(NOW.getTime() + HOUR).toISOString() })];
    expect(await keeper.pass()).toBe(5_000);
    expect(api.calls).toEqual([`listVolumes ${KEPT_VOLUME_LABEL}=true`]);
    expect(await gauge(metrics, 'kept')).toBe(2);
    expect((await metrics.keptVolumeBytes.get()).values[0]?.value).toBe(2048);
  });

  it('the ordinal back in range: held, counted past its expiry, not written', async () => {
    const { api, metrics, keeper } = setUp();
    api.volumes = [aKeptVolume('pv-a', {})];
    api.sets.set('ns/db', aSet({ replicas: 4 }));
    await keeper.pass();
    expect(api.calls.filter((c) => c.startsWith('patch'))).toEqual([]);
    expect(await gauge(metrics, 'held')).toBe(1);
    expect((await metrics.keptVolumesPastExpiry.get()).values[0]?.value).toBe(1);
  });

  it('a patch refused as changed since the list (409): no error, no count; the next pass judges it afresh', async () => {
    const { api, metrics, keeper } = setUp();
    api.volumes = [aKeptVolume('pv-a', {})];
    api.patchFailure = apiError(409);
    await keeper.pass();
    expect((await metrics.volumesReclaimed.get()).values[0]?.value ?? 0).toBe(0);
    api.patchFailure = apiError(500);
    await expect(keeper.pass()).rejects.toThrow('HTTP 500');
  });

  it('a replica that does not lead reads and writes nothing', async () => {
    const { api, keeper } = setUp({ leader: false });
    api.volumes = [aKeptVolume('pv-a', {})];
    expect(await keeper.pass()).toBe(60_000);
    expect(api.calls).toEqual([]);
  });

  it('with --namespaces, only volumes of claims in those namespaces are judged', async () => {
    const { api, keeper } = setUp({ namespaces: ['other'] });
    api.volumes = [aKeptVolume('pv-a', {}), aKeptVolume('pv-b', { namespace: 'other' })];
    await keeper.pass();
    expect(api.calls.filter((c) => !c.startsWith('list')).map((c) => c.split(' ')[1])).toEqual(['other/db', 'pv-b@uid-pv-b']);
  });
});

describe('when the keeper looks', () => {
  beforeEach(() => jest.useFakeTimers({ now: NOW, doNotFake: ['nextTick', 'setImmediate'] }));
  afterEach(() => jest.useRealTimers());
  const lists = (api: FakeKeeperApi) => api.calls.filter((c) => c.startsWith('list')).length;

  /** A started keeper whose first pass is held in its list until `finishFirst`; `passes`: the lists begun. */
  async function keeperInFirstPass() {
    const { api, keeper } = setUp({ now: () => Date.now() });
    let finishFirst: () => void = () => {};
    let started = 0;
    const listed = api.listVolumes.bind(api);
    api.listVolumes = async (options) => {
      if (started++ === 0) await new Promise<void>((resolve) => (finishFirst = resolve));
      return listed(options);
    };
    keeper.start();
    await jest.advanceTimersByTimeAsync(0);
    return { keeper, passes: () => started, finishFirst: () => finishFirst() };
  }

  it('at start; 10 s after a failed pass; a minute after a good one; at once when poked; never after stop', async () => {
    const { api, keeper } = setUp({ now: () => Date.now() });
    api.listFailure = apiError(503);
    keeper.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(lists(api)).toBe(1);
    await jest.advanceTimersByTimeAsync(9_999);
    expect(lists(api)).toBe(1);
    api.listFailure = undefined;
    await jest.advanceTimersByTimeAsync(1);
    expect(lists(api)).toBe(2);
    await jest.advanceTimersByTimeAsync(59_999);
    expect(lists(api)).toBe(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(lists(api)).toBe(3);
    keeper.poke();
    await jest.advanceTimersByTimeAsync(0);
    expect(lists(api)).toBe(4);
    await keeper.stop();
    keeper.poke();
    await jest.advanceTimersByTimeAsync(120_000);
    expect(lists(api)).toBe(4);
  });

  it('passes never overlap: a wake-up during a pass runs once that pass has ended', async () => {
    const { keeper, passes, finishFirst } = await keeperInFirstPass();
    keeper.wakeAt(new Date(Date.now()).toISOString());
    keeper.poke();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(passes()).toBe(1);
    finishFirst();
    await jest.advanceTimersByTimeAsync(0);
    expect(passes()).toBe(2);
    await jest.advanceTimersByTimeAsync(59_999);
    expect(passes()).toBe(2);
    await keeper.stop();
  });

  it('a keep written during a pass wakes it at the keep\'s end, not at once', async () => {
    const { keeper, passes, finishFirst } = await keeperInFirstPass();
    keeper.wakeAt(new Date(Date.now() + 5_000).toISOString());
    finishFirst();
    await jest.advanceTimersByTimeAsync(4_999);
    expect(passes()).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(passes()).toBe(2);
    await keeper.stop();
  });

  it('a keep written wakes it at its end when that comes before the next pass, and changes nothing when it comes after', async () => {
    const { api, keeper } = setUp({ now: () => Date.now() });
    keeper.start();
    await jest.advanceTimersByTimeAsync(0);
    keeper.wakeAt(new Date(Date.now() + 90_000).toISOString());
    await jest.advanceTimersByTimeAsync(60_000);
    expect(lists(api)).toBe(2);
    keeper.wakeAt(new Date(Date.now() + 5_000).toISOString());
    await jest.advanceTimersByTimeAsync(4_999);
    expect(lists(api)).toBe(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(lists(api)).toBe(3);
    await keeper.stop();
  });
});
