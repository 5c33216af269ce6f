// Failed, stuck and cancelled drains: the claims are kept, the user is told, retries are bounded.
import {
  claimNames, eventNotes, eventReasons, eventually, listClaims, listPods, podNames, type ClusterClient,
} from '../../local-cluster/cluster-client.ts';
import { annotateSet, createReadySet, scale, simulatedDrain, TEMPLATE_ANNOTATION } from '../../local-cluster/workloads.ts';
import { addNode, createLocalVolume } from '../../local-cluster/storage.ts';
import { controllerReplica, readAudit } from '../../local-cluster/audit.ts';
import { sharedControlPlane } from '../jest/shared-control-plane.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('fail');
const DRAINERS = 'drain.statefulsets.kubernetes.io/role=drainer';
const ROLE = 'drain.statefulsets.kubernetes.io/role';

/** Whether pod `name` is the set's replica again (no drain labels) and Ready. */
async function replicaReady(c: ClusterClient, ns: string, name: string): Promise<boolean> {
  return (await listPods(c, ns)).some((p) => p.metadata!.name === name && !p.metadata!.labels?.[ROLE] &&
    p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
}

/** Whether pod `name` is a drain pod that is Running. */
async function drainRunning(c: ClusterClient, ns: string, name: string): Promise<boolean> {
  return (await listPods(c, ns)).some((p) => p.metadata!.name === name && p.metadata!.labels?.[ROLE] && p.status?.phase === 'Running');
}

test('a failed drain keeps the claim, is retried with backoff up to max attempts, and retries again on request', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start(['--backoff-base=1s']);
  await createReadySet(c, ns, {
    name: 'db', replicas: 2,
    template: simulatedDrain({ after: '1s', phase: 'Failed', restartPolicy: 'Never' }),
    annotations: { 'statefulsets.kubernetes.io/drainer-max-attempts': '2' },
  });
  const uid = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')!.metadata!.uid;
  await scale(c, ns, 'db', 1);

  await eventually('two failures recorded', async () => (await eventReasons(c, ns, 'db')).filter((r) => r === 'DrainFailed').length === 2);
  const notes = await eventNotes(c, ns, 'db', 'DrainFailed');
  expect(notes.some((n) => n.includes('attempt 2 of 2') && n.includes('giving up'))).toBe(true);
  // The reconcile that would start a third attempt decides to give up instead.
  await eventually('gave up', async () => controller.entries().some((e) => e.message === 'synced' && e.statefulset === `${ns}/db`
    && (e.ordinals as string[] | undefined)?.includes('1:gave-up')));
  // Gave up: the last failed pod stays for inspection, the claim is untouched, no third attempt.
  const claim = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')!;
  expect(claim.metadata!.uid).toBe(uid);
  expect(claim.metadata!.annotations!['drain.statefulsets.kubernetes.io/failed-attempts']).toBe('2');
  const pods = await listPods(c, ns);
  expect(pods.find((p) => p.metadata!.name === 'db-1')!.status!.phase).toBe('Failed');
  expect((await eventReasons(c, ns, 'db')).filter((r) => r === 'DrainStarted')).toHaveLength(2);

  // The user fixes the drain and asks for a retry.
  await annotateSet(c, ns, 'db', {
    [TEMPLATE_ANNOTATION]: JSON.stringify(simulatedDrain({ after: '1s', restartPolicy: 'Never' })),
    'statefulsets.kubernetes.io/drainer-retry': 'fixed',
  });
  await eventually('claim released after the retry', async () => !(await claimNames(c, ns)).includes('data-db-1'));
  await eventually('drain pod gone', async () => (await podNames(c, ns, DRAINERS)).length === 0);
});

test('scale-up before the drain runs: the drain pod is removed and the returning replica gets its old claim', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  // A nodeSelector no node has: the drain pod stays Pending.
  await createReadySet(c, ns, { name: 'db', replicas: 3, template: simulatedDrain({ extra: { nodeSelector: { nowhere: 'true' } } }) });
  const uid = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-2')!.metadata!.uid;
  await scale(c, ns, 'db', 2);
  await eventually('pending drain pod', async () => (await podNames(c, ns, DRAINERS)).includes('db-2'));
  await scale(c, ns, 'db', 3);
  await eventually('replica 2 back and Ready', () => replicaReady(c, ns, 'db-2'));
  expect((await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-2')!.metadata!.uid).toBe(uid);
  expect(await eventReasons(c, ns, 'db')).toEqual(['DrainStarted', 'DrainCancelled']);
});

test('scale-up during a running drain: the drain finishes but releases nothing, and the returning replica gets its own ' +
    'claim back', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 3, template: simulatedDrain({ after: '4s' }) });
  const uid = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-2')!.metadata!.uid;
  await scale(c, ns, 'db', 2);
  await eventually('drain running', () => drainRunning(c, ns, 'db-2'));
  await scale(c, ns, 'db', 3);
  await eventually('replica 2 back and Ready', () => replicaReady(c, ns, 'db-2'), 120_000);
  const claim = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-2')!;
  expect(claim.metadata!.uid).toBe(uid);
  expect(claim.metadata!.deletionTimestamp).toBeUndefined();
  expect(await eventReasons(c, ns, 'db')).toEqual(['DrainStarted', 'DrainCancelled']);
});

test('drainer-delay: a scale-up within the delay gets the very same claim back, and no drain pod is ever created', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 2, annotations: { 'statefulsets.kubernetes.io/drainer-delay': '1h' } });
  const uid = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')!.metadata!.uid;
  await scale(c, ns, 'db', 1);
  const notes = await eventually('DrainDelayed', async () => {
    const n = await eventNotes(c, ns, 'db', 'DrainDelayed');
    return n.length > 0 ? n : undefined;
  });
  expect(notes[0]).toMatch(
    /ordinal 1 is orphaned; its drain starts at \S+ \(statefulsets.kubernetes.io\/drainer-delay\) unless the StatefulSet grows back/);
  await eventually('the delay is recorded on the claim', async () => (await listClaims(c, ns))
    .find((p) => p.metadata!.name === 'data-db-1')?.metadata!.annotations?.['drain.statefulsets.kubernetes.io/orphaned-since']);
  await eventually('counted as delayed', async () => /^sdc_delayed_drains 1$/m.test(await controller.metrics()));
  await scale(c, ns, 'db', 2);
  await eventually('replica 1 back and Ready', () => replicaReady(c, ns, 'db-1'));
  await eventually('the mark removed', async () => !(await listClaims(c, ns))
    .find((p) => p.metadata!.name === 'data-db-1')?.metadata!.annotations?.['drain.statefulsets.kubernetes.io/orphaned-since']);
  expect((await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')!.metadata!.uid).toBe(uid);
  const creates = readAudit(sharedControlPlane().auditLog).filter((e) => e.namespace === ns && e.verb === 'create' &&
    e.resource === 'pods' && controllerReplica(e) !== undefined);
  expect(creates).toEqual([]);
  expect(controller.entries().some((e) => e.message === 'synced' &&
    (e.ordinals as string[] | undefined)?.includes('1:delayed'))).toBe(true);
});

test('drainer-delay: once the delay has passed, the drain runs', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: simulatedDrain({ after: '1s' }),
    annotations: { 'statefulsets.kubernetes.io/drainer-delay': '3s' } });
  await scale(c, ns, 'db', 1);
  const orphanedAt = Date.now();
  await eventually('released after the delay', async () => !(await claimNames(c, ns)).includes('data-db-1'), 60_000);
  expect(Date.now() - orphanedAt).toBeGreaterThanOrEqual(3_000);
  await eventually('DrainCompleted', async () => (await eventReasons(c, ns, 'db')).includes('DrainCompleted'));
  const reasons = await eventReasons(c, ns, 'db');
  expect(reasons.filter((r) => r === 'DrainDelayed')).toHaveLength(1);
  expect(reasons.indexOf('DrainDelayed')).toBeLessThan(reasons.indexOf('DrainStarted'));
});

test('drainer-delay: an orphaned-since mark from the future (written by hand, or by a clock that ran ahead) is rewritten as now, and the ' +
    'drain still runs', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: simulatedDrain({ after: '1s' }),
    annotations: { 'statefulsets.kubernetes.io/drainer-delay': '5s' } });
  await scale(c, ns, 'db', 1);
  const mark = 'drain.statefulsets.kubernetes.io/orphaned-since';
  await eventually('the claim marked orphaned',
    async () => (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')?.metadata?.annotations?.[mark]);
  await c.kubectl(['-n', ns, 'annotate', '--overwrite', 'pvc', 'data-db-1', `${mark}=2100-01-01T00:00:00Z`]);
  await eventually('TimeInFuture reported', async () => (await eventReasons(c, ns, 'db')).includes('TimeInFuture'));
  await eventually('released after the delay', async () => !(await claimNames(c, ns)).includes('data-db-1'), 60_000);
});

test('a drain that outlives drainer-timeout has failed: reported, stopped, the claim kept, counted against max attempts', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await createReadySet(c, ns, {
    name: 'db', replicas: 2, template: simulatedDrain({ after: '1h' }),
    annotations: { 'statefulsets.kubernetes.io/drainer-timeout': '3s', 'statefulsets.kubernetes.io/drainer-max-attempts': '1' },
  });
  const uid = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')!.metadata!.uid;
  await scale(c, ns, 'db', 1);
  const notes = await eventually('DrainTimedOut', async () => {
    const n = await eventNotes(c, ns, 'db', 'DrainTimedOut');
    return n.length > 0 ? n : undefined;
  }, 60_000);
  expect(notes[0]).toMatch(/passed its deadline of 3s \(attempt 1 of 1\); it is stopped and its claims are kept; giving up/);
  await eventually('the attempt stopped', async () => !(await podNames(c, ns, DRAINERS)).includes('db-1'));
  await eventually('gave up',
    async () => controller.entries().some((e) => e.message === 'synced' && (e.ordinals as string[] | undefined)?.includes('1:gave-up')));
  const claim = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')!;
  expect([claim.metadata!.uid, claim.metadata!.annotations!['drain.statefulsets.kubernetes.io/failed-attempts']]).toEqual([uid, '1']);
  expect(await controller.metrics()).toMatch(/^sdc_drains_failed_total 1$/m);
  expect(await controller.metrics()).toMatch(/^sdc_drain_timeouts_total 1$/m);
});

test('a drain the set grew back over runs on; past its timeout it is cancelled, not failed: the replica returns on its claim, ' +
    'no failure counted', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await createReadySet(c, ns, {
    name: 'db', replicas: 2, template: simulatedDrain({ after: '1h' }),
    annotations: { 'statefulsets.kubernetes.io/drainer-timeout': '10s' },
  });
  const uid = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')!.metadata!.uid;
  await scale(c, ns, 'db', 1);
  await eventually('drain pod running', () => drainRunning(c, ns, 'db-1'));
  await scale(c, ns, 'db', 2);
  const notes = await eventually('DrainCancelled', async () => {
    const n = await eventNotes(c, ns, 'db', 'DrainCancelled');
    return n.length > 0 ? n : undefined;
  }, 60_000);
  expect(notes[0]).toMatch(/grew back over ordinal 1 while drain pod db-1 was Running and passed its deadline of 10s/);
  await eventually('replica 1 back and Ready', () => replicaReady(c, ns, 'db-1'), 60_000);
  const claim = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')!;
  expect([claim.metadata!.uid, claim.metadata!.annotations?.['drain.statefulsets.kubernetes.io/failed-attempts']])
    .toEqual([uid, undefined]);
  expect(await eventReasons(c, ns, 'db')).not.toContain('DrainTimedOut');
  expect(await controller.metrics()).not.toMatch(/^sdc_drain_timeouts_total [1-9]/m);
});

test('drain pods take the set\'s scheduling constraints: a set pinned to a tainted, labelled node is drained there', async () => {
  const { c, ns } = ctx;
  const node = `pool-${ns}`;
  await addNode(c, node);
  try {
    await c.kubectl(['label', 'node', node, `pool=${ns}`]);
    await c.kubectl(['taint', 'node', node, `dedicated=${ns}:NoSchedule`]);
    await ctx.start();
    await createReadySet(c, ns, {
      name: 'db', replicas: 2, template: simulatedDrain({ after: '1s' }),
      podSpec: { nodeSelector: { pool: ns }, tolerations: [{ key: 'dedicated', value: ns, effect: 'NoSchedule' }] },
    });
    await scale(c, ns, 'db', 1);
    const drain = await eventually('drain pod scheduled', async () => (await listPods(c, ns)).find((p) => p.metadata!.name === 'db-1' &&
      p.metadata!.labels?.['drain.statefulsets.kubernetes.io/role'] && p.spec?.nodeName));
    expect(drain.spec!.nodeName).toBe(node);
    expect(drain.spec!.nodeSelector).toEqual({ pool: ns });
    expect(drain.spec!.tolerations)
      .toEqual(expect.arrayContaining([expect.objectContaining({ key: 'dedicated', value: ns, effect: 'NoSchedule' })]));
    await eventually('released', async () => !(await claimNames(c, ns)).includes('data-db-1'));
  } finally {
    await c.core.deleteNode({ name: node }).catch(() => undefined);
  }
});

test('a drain pod Pending past the deadline is reported as stuck and left in place', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start(['--pending-deadline=2s']);
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: simulatedDrain({ extra: { nodeSelector: { nowhere: 'true' } } }) });
  await scale(c, ns, 'db', 1);
  await eventually('DrainStuck event', async () => (await eventReasons(c, ns, 'db')).includes('DrainStuck'));
  expect(await podNames(c, ns, DRAINERS)).toEqual(['db-1']);
  expect(await claimNames(c, ns)).toEqual(['data-db-0', 'data-db-1']);
  expect(await controller.metrics()).toMatch(/^sdc_stuck_drains 1$/m);
  expect(controller.entries().some((e) => e.level === 'warn' && e.reason === 'DrainStuck')).toBe(true);
});

test('whenScaled: Delete with a drainer template is reported, and the controller does not fight the garbage collector', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 2, whenScaled: 'Delete' });
  await eventually('RetentionConflict event', async () => (await eventReasons(c, ns, 'db')).includes('RetentionConflict'));
  await scale(c, ns, 'db', 1);
  await eventually('claim collected by Kubernetes', async () => !(await claimNames(c, ns)).includes('data-db-1'));
  // Whatever the controller would do about the set as it is now, it has done: it wrote no pod and no claim.
  await ctx.reconciled(controller, 'db');
  expect(await eventReasons(c, ns, 'db')).toEqual(['RetentionConflict']);
  const writes = readAudit(sharedControlPlane().auditLog).filter((e) => e.namespace === ns && controllerReplica(e) !== undefined
    && (e.resource === 'pods' || e.resource === 'persistentvolumeclaims') && e.verb !== 'get');
  expect(writes.map((e) => `${e.verb} ${e.resource}/${e.name}`)).toEqual([]);
});

test('local volume whose node is gone: the drain stays Pending, is reported as stuck, and the data is kept', async () => {
  const { c, ns } = ctx;
  const node = `lost-${ns}`;
  await addNode(c, node);
  await createLocalVolume(c, `${ns}-pv`, node);
  try {
    await ctx.start(['--pending-deadline=3s']);
    await createReadySet(c, ns, { name: 'db', replicas: 1, storageClass: 'local' });
    expect((await listPods(c, ns)).find((p) => p.metadata!.name === 'db-0')!.spec!.nodeName).toBe(node);
    await c.core.deleteNode({ name: node });
    await scale(c, ns, 'db', 0);
    await eventually('DrainStuck event', async () => (await eventReasons(c, ns, 'db')).includes('DrainStuck'), 90_000);
    const drain = (await listPods(c, ns)).find((p) => p.metadata!.name === 'db-0')!;
    expect(drain.status!.phase).toBe('Pending');
    expect(drain.status!.conditions?.find((x) => x.type === 'PodScheduled')?.status).toBe('False');
    expect(await claimNames(c, ns)).toEqual(['data-db-0']);
  } finally {
    await c.core.deletePersistentVolume({ name: `${ns}-pv` }).catch(() => undefined);
    await c.core.deleteNode({ name: node }).catch(() => undefined);
  }
});
