// The fault suite's checker must catch what it claims to catch, a look-alike drain pod included.
import { checkInvariants, type CheckOptions } from '../faults/invariants.ts';
import { serviceAccountReplica } from '../faults/replicas.ts';
import type { AuditEvent } from '../../local-cluster/audit.ts';
import type { PodSighting } from '../faults/history.ts';

const CONTROLLER = (replica = 'a') => `statefulset-drain-controller/0.1.0 (${replica})`;
const options: CheckOptions = { leaderGapMs: 1000, claimTemplates: ['data'], orderedReady: ['ns/db'] };

const ACCOUNT = (replica: string) => `system:serviceaccount:faults-lease:sdc-replica-${replica === 'a' ? 0 : 1}`;
/** An audited request; one with the controller's User-Agent was made by that replica's ServiceAccount unless said otherwise. */
const event = (e: Partial<AuditEvent> & Pick<AuditEvent, 'verb' | 'resource' | 'time'>): AuditEvent => {
  const replica = /^statefulset-drain-controller\/\S+ \((\w+)\)$/.exec(e.userAgent ?? '')?.[1];
  return { namespace: 'ns', userAgent: 'kubectl/v1.34.4', username: replica ? ACCOUNT(replica) : 'admin', code: 200, ...e };
};
const created = (replicas: number, time = 0) => event({ verb: 'create', resource: 'statefulsets', name: 'db', time, code: 201,
  requestObject: { spec: { replicas } } });
const scaled = (replicas: number, time: number) => event({ verb: 'patch', resource: 'statefulsets/scale', name: 'db', time,
  requestObject: { spec: { replicas } } });
const podCreate = (name: string, uid: string, claims: Array<{ name: string; uid: string }>, time: number,
    userAgent = CONTROLLER()) => event({
  verb: 'create', resource: 'pods', name, time, code: 201, userAgent,
  requestObject: {
    metadata: { name, annotations: { 'drain.statefulsets.kubernetes.io/claims': JSON.stringify(claims) } },
    spec: { volumes: claims.map((c) => ({ persistentVolumeClaim: { claimName: c.name } })) },
  },
  responseObject: { metadata: { name, uid } },
});
const placeholderCreate = (name: string, uid: string, time: number, userAgent = CONTROLLER()) => event({
  verb: 'create', resource: 'pods', name, time, code: 201, userAgent,
  requestObject: { metadata: { name, labels: { 'drain.statefulsets.kubernetes.io/role': 'placeholder' } }, spec: {} },
  responseObject: { metadata: { name, uid } },
});
const phase = (name: string, value: string, time: number) => event({ verb: 'patch', resource: 'pods/status', name, time,
  userAgent: 'kwok/v0.8.0', requestObject: { status: { phase: value } } });
const del = (resource: string, name: string, uid: string | undefined, time: number, replica = 'a') => event({
  verb: 'delete', resource, name, time, userAgent: CONTROLLER(replica), requestObject: uid ? { preconditions: { uid } } : {},
});
/** The controller's quorum read of the set (executor: before a plan's creates, and before each claim delete). */
const read = (replicas: number, generation: number, time: number, replica = 'a') => event({
  verb: 'get', resource: 'statefulsets', name: 'db', time, userAgent: CONTROLLER(replica),
  responseObject: { metadata: { generation }, spec: { replicas } },
});
/** RecordDrained: the drain pod's success and the set's generation, written on the claim. */
const recorded = (podUid: string, generation: number, time: number) => event({
  verb: 'patch', resource: 'persistentvolumeclaims', name: 'data-db-2', time, userAgent: CONTROLLER(),
  requestObject: { metadata: { annotations: { 'drain.statefulsets.kubernetes.io/drained': `${podUid}/${generation}` } } },
});
const sighting = (time: number, kind: PodSighting['kind'], name: string, uid: string, drain = true): PodSighting => ({
  time, kind, namespace: 'ns', name, uid, drain, phase: 'Running', claimUids: [],
});

/**
 * 3 -> 2 (generation 2), the controller drains ordinal 2: a read of the set, the drain pod, Succeeded, the success
 * recorded at generation 2, drain pod deleted, placeholder db-2 created; then a read and data-db-2 released (3100).
 */
const drained = [
  created(3), scaled(2, 1000), read(2, 2, 1900),
  podCreate('db-2', 'pod-1', [{ name: 'data-db-2', uid: 'c2' }], 2000), phase('db-2', 'Succeeded', 3000), recorded('pod-1', 2, 3040),
  del('pods', 'db-2', 'pod-1', 3050), placeholderCreate('db-2', 'ph-1', 3080),
];
const releaseAt = (time: number, readAt = time - 5) => [read(2, 2, readAt), del('persistentvolumeclaims', 'data-db-2', 'c2', time)];
const goodDrain = [...drained, ...releaseAt(3100), del('pods', 'db-2', 'ph-1', 3200)];
/** The drained sequence up to the drain pod's deletion (before the placeholder). */
const drainPodGone = drained.slice(0, 7);

describe('fault-suite invariant checker', () => {
  it('accepts a claim deletion after a Succeeded drain the controller created for that ordinal while out of range', () => {
    expect(checkInvariants(goodDrain, [sighting(2000, 'add', 'db-2', 'pod-1')], options)).toEqual([]);
  });

  it('flags a release proven only by a look-alike pod that someone else created', () => {
    const audit = [
      created(3),
      podCreate('db-99', 'crafted', [{ name: 'data-db-0', uid: 'c0' }], 1000, 'kubectl/v1.34.4'), phase('db-99', 'Succeeded', 2000),
      del('persistentvolumeclaims', 'data-db-0', 'c0', 2100),
    ];
    const found = checkInvariants(audit, [], options);
    expect(found).toEqual([expect.stringMatching(/data-db-0 .*no placeholder of the controller held ordinal 0's name/)]);
  });

  it('passes over the controller\'s own drain pod withdrawn between the proving drain and the placeholder (it proves nothing, ' +
      'and harms nothing)', () => {
    const withdrawn = [...drainPodGone, read(2, 2, 3054), podCreate('db-2', 'pod-2', [{ name: 'data-db-2', uid: 'c2' }], 3055),
      phase('db-2', 'Running', 3056),
      del('pods', 'db-2', 'pod-2', 3060), placeholderCreate('db-2', 'ph-1', 3080), ...releaseAt(3100)];
    expect(checkInvariants(withdrawn, [], options)).toEqual([]);
    // Its own success (or anyone's) after the proving pod is not the proving pod's.
    const onlyTheSecond = [created(3), scaled(2, 1000), read(2, 2, 1900),
      podCreate('db-2', 'pod-1', [{ name: 'data-db-2', uid: 'c2' }], 2000),
      del('pods', 'db-2', 'pod-1', 2500), podCreate('db-2', 'pod-2', [{ name: 'data-db-2', uid: 'other' }], 2600),
      phase('db-2', 'Succeeded', 3000),
      recorded('pod-2', 2, 3040), del('pods', 'db-2', 'pod-2', 3050), placeholderCreate('db-2', 'ph-1', 3080), ...releaseAt(3100)];
    expect(checkInvariants(onlyTheSecond, [], options)).toEqual([expect.stringMatching(/drain pod db-2 was not created for that claim/)]);
  });

  it('names the controller by the ServiceAccount the API server authenticated, not by a User-Agent anyone can send', () => {
    const bySa = { ...options, replicaOf: serviceAccountReplica };
    expect(checkInvariants(goodDrain, [], bySa)).toEqual([]);
    // Someone who may create pods sends the controller's User-Agent with a drain pod of their own, which Succeeds.
    const forged = goodDrain.map((e) => (e.verb === 'create' && e.resource === 'pods' && !e.requestObject?.metadata?.labels
      ? { ...e, username: 'mallory' } : e));
    expect(checkInvariants(forged, [], options)).toEqual([]);
    expect(checkInvariants(forged, [], bySa)).toEqual([
      expect.stringMatching(/the pod of ordinal 2 before the placeholder was not a drain pod of the controller/),
      expect.stringMatching(/pod ns\/db-2 deleted by the controller is neither its own drain pod nor a drain look-alike/)]);
    expect(serviceAccountReplica({ ...goodDrain[0]!, username: 'system:serviceaccount:elsewhere:sdc-replica-0' })).toBeUndefined();
  });

  it('flags a release while the name was free or held by anyone else, or after a replica came back between the drain and ' +
      'the placeholder', () => {
    // The order before the placeholder: the claim deleted under the drain pod, whose deletion then freed the name.
    const underDrainPod = [...drained.slice(0, 6), ...releaseAt(3045), del('pods', 'db-2', 'pod-1', 3050)];
    expect(checkInvariants(underDrainPod, [], options))
      .toEqual([expect.stringMatching(/no placeholder of the controller held ordinal 2's name/)]);
    const freedFirst = [...drained, del('pods', 'db-2', 'ph-1', 3090), ...releaseAt(3100)];
    expect(checkInvariants(freedFirst, [], options)).toEqual([expect.stringMatching(/placeholder db-2 had been deleted before/)]);
    const kcm = 'kube-controller-manager/v1.34.4';
    const replicaBetween = [...drainPodGone, scaled(3, 3055), podCreate('db-2', 'replica', [{ name: 'data-db-2', uid: 'c2' }], 3060, kcm),
      scaled(2, 3065), { ...del('pods', 'db-2', 'replica', 3070), userAgent: kcm },
      placeholderCreate('db-2', 'ph-1', 3080), ...releaseAt(3100)];
    expect(checkInvariants(replicaBetween, [], options))
      .toEqual([expect.stringMatching(/the pod of ordinal 2 before the placeholder was not a drain pod of the controller/)]);
  });

  it('a placeholder the StatefulSet controller deleted by name (its stale cache\'s replica) and the controller made again: the ' +
      'release under the second is the drain\'s; with a replica between the two it is not', () => {
    const kcm = { userAgent: 'kube-controller-manager/v1.34.4', username: 'admin' };
    const remade = [...drained, { ...del('pods', 'db-2', undefined, 3085), ...kcm }, placeholderCreate('db-2', 'ph-2', 3090),
      read(2, 2, 3095), del('persistentvolumeclaims', 'data-db-2', 'c2', 3100)];
    expect(checkInvariants(remade, [], options)).toEqual([]);
    const replicaBetween = [...drained, { ...del('pods', 'db-2', undefined, 3085), ...kcm },
      { ...podCreate('db-2', 'replica', [{ name: 'data-db-2', uid: 'c2' }], 3086), ...kcm },
      { ...del('pods', 'db-2', undefined, 3087), ...kcm }, placeholderCreate('db-2', 'ph-2', 3090),
      read(2, 2, 3095), del('persistentvolumeclaims', 'data-db-2', 'c2', 3100)];
    expect(checkInvariants(replicaBetween, [], options))
      .toEqual([expect.stringMatching(/the pod of ordinal 2 before the placeholder was not a drain pod of the controller/)]);
    // A placeholder the controller deleted itself (a release called off) ends the search: the drain before it proves nothing now.
    const ownDelete = [...drained, del('pods', 'db-2', 'ph-1', 3085), placeholderCreate('db-2', 'ph-2', 3090),
      read(2, 2, 3095), del('persistentvolumeclaims', 'data-db-2', 'c2', 3100)];
    expect(checkInvariants(ownDelete, [], options))
      .toEqual([expect.stringMatching(/the pod of ordinal 2 before the placeholder was not a drain pod of the controller/)]);
    // The success recorded on the claim must be that drain pod's.
    const otherRecord = drained.map((e) => (e.resource === 'persistentvolumeclaims' ? recorded('pod-0', 2, 3040) : e));
    expect(checkInvariants([...otherRecord, ...releaseAt(3100)], [], options))
      .toEqual([expect.stringMatching(/the success recorded on the claim \(pod-0\) is not drain pod db-2's/)]);
  });

  it('flags a release before Succeeded, with no UID precondition, or of another claim', () => {
    const early = [created(3), scaled(2, 1000), read(2, 2, 1900), podCreate('db-2', 'pod-1', [{ name: 'data-db-2', uid: 'c2' }], 2000),
      recorded('pod-1', 2, 2200),
      del('pods', 'db-2', 'pod-1', 2300), placeholderCreate('db-2', 'ph-1', 2400), ...releaseAt(2500), phase('db-2', 'Succeeded', 3000)];
    expect(checkInvariants(early, [], options)).toEqual([expect.stringMatching(/had not Succeeded/)]);
    const noUid = goodDrain.map((e) => (e.verb === 'delete' && e.resource === 'persistentvolumeclaims' ? { ...e, requestObject: {} } : e));
    expect(checkInvariants(noUid, [], options)[0]).toMatch(/without a UID precondition/);
    const otherUid = goodDrain.map((e) => (e.verb === 'delete' &&
      e.resource === 'persistentvolumeclaims' ? { ...e, requestObject: { preconditions: { uid: 'recreated' } } } : e));
    expect(checkInvariants(otherUid, [], options)[0]).toMatch(/was not created for that claim/);
  });

  it('a release must be decided on the deleting replica\'s quorum read of the set, made under the placeholder, out of range at the ' +
      'drained generation', () => {
    const check = (audit: AuditEvent[]) => checkInvariants(audit, [], options);
    expect(check([...drained, del('persistentvolumeclaims', 'data-db-2', 'c2', 3100)]))
      .toEqual([expect.stringMatching(/no quorum read of ns\/db by the deleting replica after the placeholder/)]);
    expect(check([...drained, ...releaseAt(3100, 3070)]))
      .toEqual([expect.stringMatching(/no quorum read .* after the placeholder took the name/)]);
    expect(check([...drained, read(2, 2, 3090, 'b'), del('persistentvolumeclaims', 'data-db-2', 'c2', 3100)]))
      .toEqual([expect.stringMatching(/no quorum read/)]);
    // The read saw the scale-up: deciding on it would be deleting in range.
    expect(check([...drained, scaled(3, 3090), read(3, 3, 3095), del('persistentvolumeclaims', 'data-db-2', 'c2', 3100)]))
      .toEqual([expect.stringMatching(/decided on a read of ns\/db that had ordinal 2 in range/)]);
    // Scaled up and down again since the drain: out of range, but not at the generation of the drain's success.
    expect(check([...drained, scaled(3, 3085), scaled(2, 3086), read(2, 4, 3095), del('persistentvolumeclaims', 'data-db-2', 'c2', 3100)]))
      .toEqual([expect.stringMatching(/not at the generation of the drain's success \(2\)/)]);
    expect(check([...drained.filter((e) => e.verb !== 'patch' || e.resource !== 'persistentvolumeclaims'), ...releaseAt(3100)]))
      .toEqual([expect.stringMatching(/\(none recorded\)/)]);
  });

  it('a scale-up that lands between the release\'s read and its delete is told, not flagged: the placeholder held the name', () => {
    const told: string[] = [];
    // Batch 3120205, world 3: the set was read at replicas 1, scaled to 4 92 ms before the delete landed.
    expect(checkInvariants([...drained, read(2, 2, 3050 + 40), scaled(3, 3095), del('persistentvolumeclaims', 'data-db-2', 'c2', 3100)], [],
      { ...options, notice: (text) => told.push(text) })).toEqual([]);
    expect(told)
      .toEqual([expect.stringMatching(/data-db-2 .* 10 ms after the read it was decided on; ordinal 2 was back in range by then/)]);
  });

  it('orders by resourceVersion where the audit log has one: a status write logged 3 ms after the release it caused ' +
      'still precedes it', () => {
    // Soak, claim data-s218-0: the watch event of the Succeeded write reached the controller, which released the
    // claim, before the status write's own response completed; the timestamps say the opposite of etcd.
    const rv = <E extends AuditEvent>(e: E, resourceVersion: string): E =>
      ({ ...e, responseObject: { ...e.responseObject, metadata: { ...e.responseObject?.metadata, resourceVersion } } });
    const base = [created(3), scaled(2, 1000), read(2, 2, 1900),
      rv(podCreate('db-2', 'pod-1', [{ name: 'data-db-2', uid: 'c2' }], 2000), '10')];
    const held = [recorded('pod-1', 2, 2450), rv(placeholderCreate('db-2', 'ph-1', 2500), '12'), read(2, 2, 2990)];
    const loggedLate = [...base, rv(phase('db-2', 'Succeeded', 3003), '11'), ...held,
      rv(del('persistentvolumeclaims', 'data-db-2', 'c2', 3000), '14')];
    expect(checkInvariants(loggedLate, [], options)).toEqual([]);
    const committedLate = [...base, ...held, rv(phase('db-2', 'Succeeded', 2990), '15'),
      rv(del('persistentvolumeclaims', 'data-db-2', 'c2', 3000), '14')];
    expect(checkInvariants(committedLate, [], options)).toEqual([expect.stringMatching(/had not Succeeded/)]);
  });

  it('flags a drain pod decided on no read, or on a read that had its ordinal in range, or mounting another ordinal\'s ' +
      'claim (invariant 7)', () => {
    const create = (at: number) => podCreate('db-2', 'pod-1', [{ name: 'data-db-2', uid: 'c2' }], at);
    expect(checkInvariants([created(3), scaled(2, 1000), create(2000)], [], options))
      .toEqual([expect.stringMatching(/created without a quorum read of ns\/db/)]);
    expect(checkInvariants([created(3), read(3, 1, 1900), create(2000)], [], options))
      .toEqual([expect.stringMatching(/on a read of ns\/db that had ordinal 2 in range/)]);
    expect(checkInvariants([created(3), scaled(2, 1000), read(2, 2, 1900, 'b'), create(2000)], [], options))
      .toEqual([expect.stringMatching(/created without a quorum read/)]);
    // A scale-up after the read (batch 1202002, world 7: 72 ms before the create) meets a drain pod holding the name: told, not flagged.
    const told: string[] = [];
    expect(checkInvariants([created(3), scaled(2, 1000), read(2, 2, 1990), scaled(3, 2000), create(2072)], [],
      { ...options, notice: (t) => told.push(t) })).toEqual([]);
    expect(told).toEqual([expect.stringMatching(/drain pod ns\/db-2 created 82 ms after the read it was decided on/)]);
    const cross = [created(3), scaled(2, 1000), read(2, 2, 1900), podCreate('db-2', 'pod-1', [{ name: 'data-db-0', uid: 'c0' }], 2000)];
    expect(checkInvariants(cross, [], options)).toEqual([expect.stringMatching(/mounts data-db-0, a claim of another ordinal/)]);
  });

  it('flags any write but events for a set whose input must be refused (invariant 5)', () => {
    const audit = [created(3), event({ verb: 'patch', resource: 'statefulsets', name: 'db', time: 10, userAgent: CONTROLLER() }),
      event({ verb: 'create', resource: 'events', name: 'db.1', time: 11, userAgent: CONTROLLER() })];
    expect(checkInvariants(audit, [], { ...options, refusedSets: ['ns/db'] }))
      .toEqual([expect.stringMatching(/wrote patch statefulsets\/db for ns\/db/)]);
  });

  it('flags deletion of a pod that is neither the controller\'s nor a drain look-alike that had stopped', () => {
    expect(checkInvariants([created(3), del('pods', 'db-0', 'stateful', 1000)], [sighting(0, 'add', 'db-0', 'stateful', false)],
      options)[0]).toMatch(/neither its own drain pod/);
    const seen = [sighting(0, 'add', 'db-9', 'crafted')];
    const written = (value: string) => ({ ...phase('db-9', value, 500), responseObject: { metadata: { uid: 'crafted' } } });
    const deleted = del('pods', 'db-9', 'crafted', 1000);
    expect(checkInvariants([created(3), written('Running'), deleted], seen, options)[0]).toMatch(/neither its own drain pod/);
    expect(checkInvariants([created(3), written('Running'), { ...written('Succeeded'), time: 600 }, deleted], seen, options)).toEqual([]);
    // Never started (Pending on claims that are gone): no phase written.
    expect(checkInvariants([created(3), deleted], seen, options)).toEqual([]);
  });

  it('flags a replica created on a claim the controller released, before that claim was gone (kubernetes #74374)', () => {
    const kcm = 'kube-controller-manager/v1.34.4';
    const replica = (time: number) => ({ ...podCreate('db-2', 'replica', [{ name: 'data-db-2', uid: 'c2' }], time, kcm) });
    const recreatedClaim = event({ verb: 'create', resource: 'persistentvolumeclaims', name: 'data-db-2', time: 4000,
      userAgent: kcm, code: 201 });
    // Only a placeholder deleted by hand (or a release of the old order) lets this happen now.
    const grown = [...drained.slice(0, 6), ...releaseAt(3045), del('pods', 'db-2', 'pod-1', 3050), scaled(3, 3300)];
    expect(checkInvariants([...grown, replica(3500)], [], options)).toEqual([
      expect.stringMatching(/no placeholder of the controller held ordinal 2's name/),
      expect.stringMatching(/pod ns\/db-2 created .* on claim data-db-2, which the controller had released/),
    ]);
    expect(checkInvariants([...grown, recreatedClaim, replica(4100)], [], options))
      .toEqual([expect.stringMatching(/no placeholder of the controller held ordinal 2's name/)]);
    // The released claim gone (PVC protection removed its finalizer) before
    // the replica, created before its new claim: no claim was being deleted.
    const finalized = event({ verb: 'update', resource: 'persistentvolumeclaims', name: 'data-db-2', time: 3400, userAgent: kcm,
      requestObject: { metadata: { uid: 'c2', finalizers: [] } } });
    expect(checkInvariants([...goodDrain, scaled(3, 3300), finalized, replica(3500)], [], options)).toEqual([]);
    const stillProtected = { ...finalized, requestObject: { metadata: { uid: 'c2', finalizers: ['kubernetes.io/pvc-protection'] } } };
    expect(checkInvariants([...goodDrain, scaled(3, 3300), stillProtected, replica(3500)], [], options))
      .toEqual([expect.stringMatching(/which the controller had released/)]);
  });

  it('a delete found by a resync carries no UID, and still ends the pod that held the name', () => {
    const resync = [sighting(0, 'add', 'db-2', 'pod-1'), sighting(10, 'delete', 'db-2', ''), sighting(20, 'add', 'db-2', 'pod-2')];
    expect(checkInvariants([created(3)], resync, options)).toEqual([]);
  });

  it('a pod that took over a name during a resync (seen as an update of the name) is no second pod', () => {
    const handover = [sighting(0, 'add', 'db-2', 'pod-1'), sighting(10, 'update', 'db-2', 'pod-2'), sighting(20, 'delete', 'db-2', 'pod-2'),
      sighting(30, 'add', 'db-2', 'pod-3')];
    expect(checkInvariants([created(3)], handover, options)).toEqual([]);
  });

  it('flags two pods of one name at once, two drains of an OrderedReady set at once, and two replicas writing ' +
      'within the leader gap', () => {
    const twin = [sighting(0, 'add', 'db-2', 'pod-1'), sighting(10, 'add', 'db-2', 'pod-2')];
    expect(checkInvariants([created(3)], twin, options)[0]).toMatch(/two pods named ns\/db-2/);
    const two = [created(3), scaled(1, 500), read(1, 2, 900), podCreate('db-2', 'p2', [], 1000), podCreate('db-1', 'p1', [], 1100)];
    expect(checkInvariants(two, [sighting(1000, 'add', 'db-2', 'p2'), sighting(1100, 'add', 'db-1', 'p1')], options))
      .toEqual([expect.stringMatching(/two drain pods of OrderedReady set ns\/db/)]);
    const writes = [...goodDrain.slice(0, 10), del('pods', 'db-2', 'ph-1', 3500, 'b')];
    expect(checkInvariants(writes, [], options).some((v) => /wrote 400 ms apart/.test(v))).toBe(true);
  });

  describe('drainer-keep-volume (invariant 11)', () => {
    const kept = { ...options, keptSets: { 'ns/db': 40_000 } };
    const UNTIL = new Date(60_000).toISOString();
    const KEEP = 'drain.statefulsets.kubernetes.io/kept-until';
    /** The controller's keep: Retain, marked with claim data-db-2 (`uid`), until UNTIL (`until`). */
    const keep = (time: number, uid = 'c2', until = UNTIL) => event({
      verb: 'patch', resource: 'persistentvolumes', name: 'pv-2', namespace: undefined, time, userAgent: CONTROLLER(),
      requestObject: { metadata: { labels: { 'drain.statefulsets.kubernetes.io/kept-volume': 'true' }, annotations: {
        'drain.statefulsets.kubernetes.io/kept-claim': 'ns/data-db-2', 'drain.statefulsets.kubernetes.io/kept-claim-uid': uid,
        'drain.statefulsets.kubernetes.io/kept-statefulset': 'db', 'drain.statefulsets.kubernetes.io/kept-ordinal': '2',
        [KEEP]: until } }, spec: { persistentVolumeReclaimPolicy: 'Retain' } },
    });
    /** The keep's end: the policy put back and the label dropped. */
    const end = (time: number) => event({
      verb: 'patch', resource: 'persistentvolumes', name: 'pv-2', namespace: undefined, time, userAgent: CONTROLLER(),
      requestObject: { metadata: { labels: { 'drain.statefulsets.kubernetes.io/kept-volume': null as unknown as string } },
        spec: { persistentVolumeReclaimPolicy: 'Delete' } },
    });

    it('accepts a claim released after its volume was kept, and a keep ended at its time on a read with the ordinal out of range', () => {
      const audit = [...drained, keep(3090), ...releaseAt(3100), read(2, 2, 61_000), end(61_010)];
      expect(checkInvariants(audit, [], { ...kept, namespace: 'ns' })).toEqual([]);
    });

    it('flags a kept set\'s claim released with no keep, or a keep of another claim UID, or a keep written after the delete', () => {
      const flagged = /claim ns\/data-db-2 \(c2\) of kept set ns\/db deleted before its volume was kept/;
      expect(checkInvariants([...drained, ...releaseAt(3100)], [], kept)).toEqual([expect.stringMatching(flagged)]);
      expect(checkInvariants([...drained, keep(3090, 'other'), ...releaseAt(3100)], [], kept)).toEqual([expect.stringMatching(flagged)]);
      expect(checkInvariants([...drained, ...releaseAt(3100), keep(3110)], [], kept)).toEqual([expect.stringMatching(flagged)]);
      expect(checkInvariants([...drained, ...releaseAt(3100)], [], options)).toEqual([]);
    });

    it('flags a claim released when its volume\'s keep had ended, or would end well before the keep after the release', () => {
      const ended = [...drained, keep(3090), end(3095), ...releaseAt(3100)];
      expect(checkInvariants(ended, [], kept))
        .toEqual(expect.arrayContaining([expect.stringMatching(/after the keep of its volume pv-2 had ended/)]));
      // 40 s keep from 3.1 s: until 43.1 s, less 4 s (a late retry) and 2.5 s (the clocks) is the least: 36.6 s.
      const short = (until: number) => checkInvariants([...drained, keep(3090, 'c2', new Date(until).toISOString()), ...releaseAt(3100)],
        [], kept);
      expect(short(36_600)).toEqual([]);
      expect(short(36_599)).toEqual([expect.stringMatching(/deleted at .* with its volume pv-2 kept only until 1970-01-01T00:00:36.599Z/)]);
    });

    it('flags a keep ended early (beyond the clock\'s tolerance), on a read that had the ordinal in range, or never kept', () => {
      const base = [...drained, keep(3090), ...releaseAt(3100)];
      expect(checkInvariants([...base, read(2, 2, 50_000), end(50_010)], [], kept))
        .toEqual([expect.stringMatching(/volume pv-2's keep ended at .*, 9990 ms before its keep was over/)]);
      expect(checkInvariants([...base, read(2, 2, 58_000), end(58_000)], [], kept)).toEqual([]);
      expect(checkInvariants([...base, scaled(3, 60_500), read(3, 3, 61_000), end(61_010)], [], kept))
        .toEqual([expect.stringMatching(/keep ended .*decided on a read of ns\/db that had ordinal 2 in range/)]);
      expect(checkInvariants([...drained, end(61_010)], [], kept)).toEqual([expect.stringMatching(/the controller never kept it/)]);
    });

    it('a keep of another world\'s volume is not this world\'s to judge', () => {
      expect(checkInvariants([...drained, keep(3090), ...releaseAt(3100), end(4_000)], [], { ...kept, namespace: 'elsewhere' }))
        .toEqual([]);
    });
  });
});
