// Template checks that need a namespace of their own or a sequence of steps (the rest: bad-input.test.ts).
import { claimNames, eventNotes, eventually, podNames } from '../../local-cluster/cluster-client.ts';
import { annotateSet, createReadySet, scale, simulatedDrain, TEMPLATE_ANNOTATION } from '../../local-cluster/workloads.ts';
import { FINALIZER } from '../../src/planner/keys.ts';
import type { ClusterClient } from '../../local-cluster/cluster-client.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('bad');

const finalizers = async (c: ClusterClient, namespace: string, name: string) =>
  (await c.apps.readNamespacedStatefulSet({ namespace, name })).metadata?.finalizers ?? [];

test('a template rejected by Pod Security admission (privileged in a restricted namespace) is refused', async () => {
  const { c, ns } = ctx;
  await c.kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=baseline']);
  const controller = await ctx.start();
  const privileged = simulatedDrain();
  (privileged.spec.containers[0] as Record<string, unknown>).securityContext = { privileged: true };
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: privileged });
  const notes = await eventually('InvalidDrainerTemplate event', async () => {
    const n = await eventNotes(c, ns, 'db', 'InvalidDrainerTemplate');
    return n.length > 0 ? n : undefined;
  });
  expect(notes[0]).toMatch(/violates PodSecurity "baseline/);
  await scale(c, ns, 'db', 1);
  await eventually('pod db-1 gone', async () => !(await podNames(c, ns)).includes('db-1'));
  await ctx.reconciled(controller, 'db');
  expect(await podNames(c, ns, 'drain.statefulsets.kubernetes.io/role')).toEqual([]);
  expect(await claimNames(c, ns)).toEqual(['data-db-0', 'data-db-1']);
});

test('a template changed while the controller was away, on a set it accepted before, is judged by its first drain pod: refused by ' +
    'admission, it is reported and nothing is created', async () => {
  const { c, ns } = ctx;
  await c.kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=baseline']);
  const first = await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 2 });
  await eventually('finalizer on the accepted set', async () => finalizers(c, ns, 'db').then((f) => f.includes(FINALIZER)));
  await first.stop();
  const privileged = simulatedDrain();
  (privileged.spec.containers[0] as Record<string, unknown>).securityContext = { privileged: true };
  await annotateSet(c, ns, 'db', { [TEMPLATE_ANNOTATION]: JSON.stringify(privileged) });
  // Found at start-up on a set with our finalizer: no dry run is made for it.
  const controller = await ctx.start();
  await ctx.reconciled(controller, 'db');
  expect(await eventNotes(c, ns, 'db', 'InvalidDrainerTemplate')).toEqual([]);
  await scale(c, ns, 'db', 1);
  const notes = await eventually('InvalidDrainerTemplate event', async () => {
    const n = await eventNotes(c, ns, 'db', 'InvalidDrainerTemplate');
    return n.length > 0 ? n : undefined;
  });
  expect(notes[0]).toMatch(/violates PodSecurity "baseline/);
  await ctx.reconciled(controller, 'db');
  expect(await podNames(c, ns, 'drain.statefulsets.kubernetes.io/role')).toEqual([]);
  expect(await claimNames(c, ns)).toEqual(['data-db-0', 'data-db-1']);
});

test('templates annotated while the controller was away are checked when it starts: the accepted set gets its finalizer, the refused one ' +
    'is reported and untouched', async () => {
  const { c, ns } = ctx;
  await c.kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=baseline']);
  const privileged = simulatedDrain();
  (privileged.spec.containers[0] as Record<string, unknown>).securityContext = { privileged: true };
  await createReadySet(c, ns, { name: 'good', replicas: 1 });
  await createReadySet(c, ns, { name: 'bad', replicas: 1, template: privileged });
  await ctx.start();
  await eventually('finalizer on the accepted set, with nothing to drain',
    async () => finalizers(c, ns, 'good').then((f) => f.includes(FINALIZER)));
  const notes = await eventually('InvalidDrainerTemplate event', async () => {
    const n = await eventNotes(c, ns, 'bad', 'InvalidDrainerTemplate');
    return n.length > 0 ? n : undefined;
  });
  expect(notes[0]).toMatch(/violates PodSecurity "baseline/);
  expect(await finalizers(c, ns, 'bad')).toEqual([]);
});

test('fixing the template after a scale-down drains the waiting claim', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: '{oops' });
  await scale(c, ns, 'db', 1);
  await eventually('reported', async () => (await eventNotes(c, ns, 'db', 'InvalidDrainerTemplate')).length > 0);
  await annotateSet(c, ns, 'db', { [TEMPLATE_ANNOTATION]: JSON.stringify(simulatedDrain()) });
  await eventually('drained after the fix', async () => !(await claimNames(c, ns)).includes('data-db-1'));
});
