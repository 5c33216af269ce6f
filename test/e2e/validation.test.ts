// Template checks that need a namespace of their own or a sequence of steps (the rest: bad-input.test.ts).
import { claimNames, eventNotes, eventually, podNames } from '../../local-cluster/cluster-client.ts';
import { annotateSet, createReadySet, scale, simulatedDrain, TEMPLATE_ANNOTATION } from '../../local-cluster/workloads.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('bad');

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

test('a template found at start-up is judged by its first drain pod: refused by admission, it is reported and nothing is created', async () => {
  const { c, ns } = ctx;
  await c.kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=baseline']);
  const privileged = simulatedDrain();
  (privileged.spec.containers[0] as Record<string, unknown>).securityContext = { privileged: true };
  // The set and its template exist before the controller starts: no dry run is made for them.
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: privileged });
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

test('fixing the template after a scale-down drains the waiting claim', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: '{oops' });
  await scale(c, ns, 'db', 1);
  await eventually('reported', async () => (await eventNotes(c, ns, 'db', 'InvalidDrainerTemplate')).length > 0);
  await annotateSet(c, ns, 'db', { [TEMPLATE_ANNOTATION]: JSON.stringify(simulatedDrain()) });
  await eventually('drained after the fix', async () => !(await claimNames(c, ns)).includes('data-db-1'));
});
