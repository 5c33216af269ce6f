// Bad drainer templates: a Warning event naming the problem, nothing created or deleted, other sets still served.
import { claimNames, eventNotes, eventually, podNames } from '../harness/cluster-client.ts';
import { annotateSet, createReadySet, scale, simulatedDrain, TEMPLATE_ANNOTATION } from '../harness/workloads.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('bad');
const DRAINERS = 'drain.statefulsets.kubernetes.io/role=drainer';
const container = { name: 'drain', image: 'busybox' };

const badTemplates: Array<[string, unknown, RegExp]> = [
  ['malformed JSON', '{"spec": {"containers": [', /neither valid JSON nor YAML/],
  ['not an object', '[]', /must be a JSON object/],
  ['no containers', { spec: { containers: [] } }, /containers must NOT have fewer than 1 items/],
  ['restartPolicy Always', { spec: { restartPolicy: 'Always', containers: [container] } }, /restartPolicy Always is not allowed/],
  ['labels matching the selector', { metadata: { labels: { app: 'bad' } }, spec: { containers: [container] } }, /would adopt the drain pod/],
  ['a namespace', { metadata: { namespace: 'kube-system' }, spec: { containers: [container] } }, /metadata.namespace is not allowed/],
  ['ownerReferences', { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'x', uid: 'y' }] }, spec: { containers: [container] } }, /ownerReferences is not allowed/],
  ['an invalid field the API server rejects', { spec: { containers: [{ ...container, name: 'Not_A_DNS_Label' }] } }, /API server rejects the drain pod/],
];

test.each(badTemplates)('template with %s: Warning event, nothing created or deleted, a healthy set still drained', async (_name, template, message) => {
  const { c, ns } = ctx;
  await ctx.start();
  await createReadySet(c, ns, { name: 'bad', replicas: 2, template });
  await createReadySet(c, ns, { name: 'good', replicas: 2 });
  // Validated as soon as the annotation is seen, before any scale-down.
  const notes = await eventually('InvalidDrainerTemplate event', async () => {
    const n = await eventNotes(c, ns, 'bad', 'InvalidDrainerTemplate');
    return n.length > 0 ? n : undefined;
  });
  expect(notes.join('\n')).toMatch(message);
  await scale(c, ns, 'bad', 1);
  await scale(c, ns, 'good', 1);
  await eventually('good drained and its drain pod gone', async () =>
    !(await claimNames(c, ns)).includes('data-good-1') && (await podNames(c, ns, DRAINERS)).length === 0);
  expect(await claimNames(c, ns)).toEqual(['data-bad-0', 'data-bad-1', 'data-good-0']);
  expect((await podNames(c, ns, DRAINERS))).toEqual([]);
  expect(await eventNotes(c, ns, 'bad', 'InvalidDrainerTemplate')).toHaveLength(1);
});

test('a template rejected by Pod Security admission (privileged in a restricted namespace) is refused', async () => {
  const { c, ns } = ctx;
  await c.kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=baseline']);
  await ctx.start();
  const privileged = simulatedDrain();
  (privileged.spec.containers[0] as Record<string, unknown>).securityContext = { privileged: true };
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: privileged });
  const notes = await eventually('InvalidDrainerTemplate event', async () => {
    const n = await eventNotes(c, ns, 'db', 'InvalidDrainerTemplate');
    return n.length > 0 ? n : undefined;
  });
  expect(notes[0]).toMatch(/violates PodSecurity "baseline/);
  await scale(c, ns, 'db', 1);
  await new Promise((r) => setTimeout(r, 2000));
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
