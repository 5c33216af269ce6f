// The core promise: a scale-down's orphaned claims are drained by a pod from the template, then released.
import { claimNames, eventReasons, eventually, listClaims, listPods, podNames } from '../../local-cluster/cluster-client.ts';
import { createReadySet, scale, simulatedDrain } from '../../local-cluster/workloads.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('flow');
const DRAINERS = 'drain.statefulsets.kubernetes.io/role=drainer';

/** Polls the drain pods until `done`, recording the order they appeared in and the most that existed at once. */
async function watchDrains(done: () => Promise<boolean>) {
  const order: string[] = [];
  let maxAtOnce = 0;
  await eventually('drains finished', async () => {
    const names = await podNames(ctx.c, ctx.ns, DRAINERS);
    for (const n of names) if (!order.includes(n)) order.push(n);
    maxAtOnce = Math.max(maxAtOnce, names.length);
    return done();
  }, 120_000);
  return { order, maxAtOnce };
}

test('README flow: 3 -> 2 replicas, drain pod created, Succeeded, claim and drain pod deleted', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  const set = await createReadySet(c, ns, { name: 'db', replicas: 3 });
  const claimBefore = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-2')!;
  await scale(c, ns, 'db', 2);

  const drainPod = await eventually('drain pod db-2', async () => (await listPods(c, ns)).find((p) =>
    p.metadata!.name === 'db-2' && p.metadata!.labels?.['drain.statefulsets.kubernetes.io/role'] === 'drainer'));
  expect(drainPod.spec!.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'data-db-2' } });
  expect(drainPod.metadata!.ownerReferences)
    .toEqual([expect.objectContaining({ kind: 'StatefulSet', uid: set.metadata!.uid, controller: false })]);
  expect(JSON.parse(drainPod.metadata!.annotations!['drain.statefulsets.kubernetes.io/claims']!))
    .toEqual([{ name: 'data-db-2', uid: claimBefore.metadata!.uid }]);

  await eventually('claim released', async () => !(await claimNames(c, ns)).includes('data-db-2'));
  await eventually('drain pod deleted', async () => (await podNames(c, ns, DRAINERS)).length === 0);
  expect(await claimNames(c, ns)).toEqual(['data-db-0', 'data-db-1']);
  expect(await podNames(c, ns)).toEqual(['db-0', 'db-1']);
  await eventually('DrainCompleted event', async () => (await eventReasons(c, ns, 'db')).includes('DrainCompleted'));
  expect(await eventReasons(c, ns, 'db')).toEqual(['DrainStarted', 'DrainSucceeded', 'ClaimReleased', 'DrainCompleted']);
});

test('OrderedReady 5 -> 2 drains one ordinal at a time, highest first', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 5, template: simulatedDrain({ after: '2s' }) });
  await scale(c, ns, 'db', 2);
  const { order, maxAtOnce } = await watchDrains(async () => (await claimNames(c, ns)).length === 2);
  expect(order).toEqual(['db-4', 'db-3', 'db-2']);
  expect(maxAtOnce).toBe(1);
  expect(await claimNames(c, ns)).toEqual(['data-db-0', 'data-db-1']);
});

test('Parallel 5 -> 2 drains every orphaned ordinal at once', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 5, policy: 'Parallel', template: simulatedDrain({ after: '4s' }) });
  await scale(c, ns, 'db', 2);
  const { order, maxAtOnce } = await watchDrains(async () => (await claimNames(c, ns)).length === 2);
  expect(order.sort()).toEqual(['db-2', 'db-3', 'db-4']);
  expect(maxAtOnce).toBe(3);
});

test('ordinals.start 10: the ordinal above the shrunken range is drained', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 3, start: 10 });
  await scale(c, ns, 'db', 2);
  await eventually('data-db-12 released', async () => !(await claimNames(c, ns)).includes('data-db-12'));
  expect(await claimNames(c, ns)).toEqual(['data-db-10', 'data-db-11']);
});

test('two claim templates: one drain pod mounts both claims and both are released', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 2, claims: ['data', 'wal'] });
  await scale(c, ns, 'db', 1);
  const pod = await eventually('drain pod db-1',
    async () => (await listPods(c, ns)).find((p) => p.metadata!.labels?.['drain.statefulsets.kubernetes.io/ordinal'] === '1'));
  expect(pod.spec!.volumes!.map((v) => v.persistentVolumeClaim?.claimName).sort()).toEqual(['data-db-1', 'wal-db-1']);
  await eventually('both claims released', async () => (await claimNames(c, ns)).length === 2);
  expect(await claimNames(c, ns)).toEqual(['data-db-0', 'wal-db-0']);
});

test('an unannotated StatefulSet is left alone', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await createReadySet(c, ns, { name: 'plain', replicas: 2, template: null });
  await scale(c, ns, 'plain', 1);
  await eventually('pod plain-1 gone', async () => !(await podNames(c, ns)).includes('plain-1'));
  await ctx.reconciled(controller, 'plain');
  expect(await claimNames(c, ns)).toEqual(['data-plain-0', 'data-plain-1']);
  expect(await eventReasons(c, ns, 'plain')).toEqual([]);
  expect((await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'plain' })).metadata!.finalizers).toBeUndefined();
  expect(controller.entries().filter((e) => e.message === 'ignoring StatefulSet without a drainer template or claim templates'))
    .toHaveLength(1);
});
