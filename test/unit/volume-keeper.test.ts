// The end of keeps, against an in-memory API: only the leader writes; the set of a keep that is over is read
// from etcd; the patch puts the policy back and drops the label, conditional on the volume as listed; a
// conflict waits for the next pass; volumes of namespaces not watched are not this instance's.
import type { V1PersistentVolume, V1StatefulSet } from '@kubernetes/client-node';
import { VolumeKeeper, type KeeperApi } from '../../src/controller/volume-keeper.ts';
import { keepMarks, type KeptVolume } from '../../src/planner/kept-volumes.ts';
import { KEPT_VOLUME_LABEL } from '../../src/planner/keys.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import type { EventInput } from '../../src/controller/events.ts';
import { apiError, emptyQueue, quietLogger } from './fakes/cluster.ts';
import { aSet, NOW } from './fixtures.ts';

const HOUR = 3_600_000;

function aKeptVolume(name: string, over: Partial<KeptVolume>): V1PersistentVolume {
  const marks: KeptVolume = { namespace: 'ns', claim: `data-db-${name}`, claimUid: `c-${name}`, statefulset: 'db', ordinal: 3,
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
  async listVolumes(options: { labelSelector?: string } = {}) {
    this.calls.push(`listVolumes ${options.labelSelector}`);
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

function setUp(options: { leader?: boolean; namespaces?: string[] } = {}) {
  const api = new FakeKeeperApi();
  const metrics = new Metrics(emptyQueue);
  const events: EventInput[] = [];
  const keeper = new VolumeKeeper(api, options.namespaces ?? [], { record: (_s, e) => events.push(e) }, metrics, quietLogger(),
    () => options.leader ?? true, 60_000);
  return { api, metrics, events, keeper };
}

const gauge = async (metrics: Metrics, state: string) =>
  (await metrics.keptVolumes.get()).values.find((v) => v.labels.state === state)?.value;

describe('VolumeKeeper', () => {
  it('a keep that is over, its set read from etcd and below it: the policy put back and the label dropped, conditionally', async () => {
    const { api, metrics, events, keeper } = setUp();
    api.volumes = [aKeptVolume('pv-a', {})];
    api.sets.set('ns/db', aSet({ replicas: 2 }));
    await keeper.pass(NOW);
    expect(api.calls).toEqual([`listVolumes ${KEPT_VOLUME_LABEL}=true`, 'getStatefulSet ns/db',
      `patchVolume pv-a@uid-pv-a rv=5 ${JSON.stringify({ metadata: { labels: { [KEPT_VOLUME_LABEL]: null } },
        spec: { persistentVolumeReclaimPolicy: 'Delete' } })}`]);
    expect(events.map((e) => e.reason)).toEqual(['VolumeReclaimed']);
    expect((await metrics.volumesReclaimed.get()).values[0]?.value).toBe(1);
  });

  it('keeps not over: no set read, nothing written, the next pass when the first ends; counted and their bytes summed', async () => {
    const { api, metrics, keeper } = setUp();
    api.volumes = [aKeptVolume('pv-a', { until: new Date(NOW.getTime() + 5_000).toISOString() }),
      aKeptVolume('pv-b', { until: new Date(NOW.getTime() + HOUR).toISOString() })];
    expect(await keeper.pass(NOW)).toBe(5_000);
    expect(api.calls).toEqual([`listVolumes ${KEPT_VOLUME_LABEL}=true`]);
    expect(await gauge(metrics, 'kept')).toBe(2);
    expect((await metrics.keptVolumeBytes.get()).values[0]?.value).toBe(2048);
  });

  it('the ordinal back in range: held, counted past its expiry, not written', async () => {
    const { api, metrics, keeper } = setUp();
    api.volumes = [aKeptVolume('pv-a', {})];
    api.sets.set('ns/db', aSet({ replicas: 4 }));
    await keeper.pass(NOW);
    expect(api.calls.filter((c) => c.startsWith('patch'))).toEqual([]);
    expect(await gauge(metrics, 'held')).toBe(1);
    expect((await metrics.keptVolumesPastExpiry.get()).values[0]?.value).toBe(1);
  });

  it('a patch refused as changed since the list (409): no error, no count; the next pass judges it afresh', async () => {
    const { api, metrics, keeper } = setUp();
    api.volumes = [aKeptVolume('pv-a', {})];
    api.patchFailure = apiError(409);
    await keeper.pass(NOW);
    expect((await metrics.volumesReclaimed.get()).values[0]?.value ?? 0).toBe(0);
    api.patchFailure = apiError(500);
    await expect(keeper.pass(NOW)).rejects.toThrow('HTTP 500');
  });

  it('a replica that does not lead reads and writes nothing', async () => {
    const { api, keeper } = setUp({ leader: false });
    api.volumes = [aKeptVolume('pv-a', {})];
    expect(await keeper.pass(NOW)).toBe(60_000);
    expect(api.calls).toEqual([]);
  });

  it('with --namespaces, only volumes of claims in those namespaces are judged', async () => {
    const { api, keeper } = setUp({ namespaces: ['other'] });
    api.volumes = [aKeptVolume('pv-a', {}), aKeptVolume('pv-b', { namespace: 'other' })];
    await keeper.pass(NOW);
    expect(api.calls.filter((c) => !c.startsWith('list')).map((c) => c.split(' ')[1])).toEqual(['other/db', 'pv-b@uid-pv-b']);
  });
});

it('a keep just written wakes the keeper at its end, not at the next periodic pass', async () => {
  const { api, keeper } = setUp();
  keeper.wakeAt(new Date(Date.now() + 20).toISOString());
  try {
    // The period is a minute: a list within seconds can only be the wake-up.
    for (let waited = 0; api.calls.length === 0 && waited < 5_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    expect(api.calls).toEqual([`listVolumes ${KEPT_VOLUME_LABEL}=true`]);
  } finally {
    await keeper.stop();
  }
});
