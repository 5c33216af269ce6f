// Someone who may only create pods must not be able to make the controller delete a claim: a pod that copies
// a drain pod's labels, owner reference and claims annotation proves nothing (README, threat model).
import { readAudit } from '../../local-cluster/audit.ts';
import { eventReasons, eventually, listClaims, listPods } from '../../local-cluster/cluster-client.ts';
import { sharedControlPlane } from '../jest/shared-control-plane.ts';
import { createLookAlikeDrainPod, createReadySet, statefulSet } from '../../local-cluster/workloads.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('lookalike');

async function claimUid(name: string): Promise<string | undefined> {
  const claim = (await listClaims(ctx.c, ctx.ns)).find((p) => p.metadata!.name === name);
  return claim && !claim.metadata!.deletionTimestamp ? claim.metadata!.uid : undefined;
}

async function succeeded(podName: string): Promise<void> {
  await eventually(`${podName} Succeeded`,
    async () => (await listPods(ctx.c, ctx.ns)).find((p) => p.metadata!.name === podName)?.status?.phase === 'Succeeded');
}

function claimDeletes(name: string) {
  return readAudit(sharedControlPlane().auditLog).filter((e) => e.verb === 'delete' && e.resource === 'persistentvolumeclaims' &&
    e.namespace === ctx.ns && e.name === name);
}

test('a crafted pod listing a live replica\'s claim releases nothing; the controller warns and removes it once finished', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await createReadySet(c, ns, { name: 'vault', replicas: 3 });
  const uid = await claimUid('data-vault-0');
  await createLookAlikeDrainPod(c, ns, 'vault', 99, 'data-vault-0');
  // Removed only once it has finished; today's code would have released the claim just before.
  await eventually('look-alike removed', async () => !(await listPods(c, ns)).some((p) => p.metadata!.name === 'vault-99'));
  await ctx.reconciled(controller, 'vault');
  expect(await claimUid('data-vault-0')).toBe(uid);
  expect(claimDeletes('data-vault-0')).toEqual([]);
  // Reported while it held the ordinal (if seen running), and when removed.
  expect([...new Set(await eventReasons(c, ns, 'vault'))]).toEqual(['UnprovenDrainPod']);
});

test('someone who may create StatefulSets: a set whose claim names and selector collide with a live set\'s drains none of ' +
    'its claims', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await createReadySet(c, ns, { name: 'a-b', replicas: 2, template: null });
  const uid = await claimUid('data-a-b-0');
  // Set "b" with claim template "data-a" spells the claims data-a-b-<n>, and copies a-b's selector labels.
  const rival = statefulSet({ name: 'b', replicas: 0, claims: ['data-a'] });
  rival.spec!.selector = { matchLabels: { app: 'a-b' } };
  rival.spec!.template.metadata!.labels = { app: 'a-b' };
  await c.apps.createNamespacedStatefulSet({ namespace: ns, body: rival });
  await eventually('AmbiguousClaim reported', async () => (await eventReasons(c, ns, 'b')).includes('AmbiguousClaim'));
  await ctx.reconciled(controller, 'b');
  expect((await listPods(c, ns)).map((p) => p.metadata!.name).filter((n) => n!.startsWith('b-'))).toEqual([]);
  expect(await claimUid('data-a-b-0')).toBe(uid);
  expect(claimDeletes('data-a-b-0')).toEqual([]);
});

test('someone who may create StatefulSets, beside a set recreated with a new selector (its claims keep the old labels): none of its ' +
    'claims is drained', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await createReadySet(c, ns, { name: 'a-b', replicas: 2, template: null });
  const uid = await claimUid('data-a-b-0');
  // How users change a set's selector or claim templates: delete it, keep its pods and claims, create it anew.
  await c.kubectl(['-n', ns, 'delete', 'statefulset', 'a-b', '--cascade=orphan']);
  const recreated = statefulSet({ name: 'a-b', replicas: 2, template: null });
  recreated.spec!.selector = { matchLabels: { app: 'a-b-v2' } };
  recreated.spec!.template.metadata!.labels = { app: 'a-b-v2' };
  await c.apps.createNamespacedStatefulSet({ namespace: ns, body: recreated });
  // Set "b" with claim template "data-a" spells a-b's claim names, and takes the labels those claims still carry.
  const rival = statefulSet({ name: 'b', replicas: 0, claims: ['data-a'] });
  rival.spec!.selector = { matchLabels: { app: 'a-b' } };
  rival.spec!.template.metadata!.labels = { app: 'a-b' };
  await c.apps.createNamespacedStatefulSet({ namespace: ns, body: rival });
  await eventually('AmbiguousClaim reported', async () => (await eventReasons(c, ns, 'b')).includes('AmbiguousClaim'));
  await ctx.reconciled(controller, 'b');
  expect((await listPods(c, ns)).map((p) => p.metadata!.name).filter((n) => n!.startsWith('b-'))).toEqual([]);
  expect(await claimUid('data-a-b-0')).toBe(uid);
  expect(claimDeletes('data-a-b-0')).toEqual([]);
});

test('beside a StatefulSet without the annotation, a crafted pod changes nothing at all', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await createReadySet(c, ns, { name: 'plain', replicas: 2, template: null });
  const uid = await claimUid('data-plain-0');
  await createLookAlikeDrainPod(c, ns, 'plain', 7, 'data-plain-0');
  await succeeded('plain-7');
  await ctx.reconciled(controller, 'plain');
  expect(await claimUid('data-plain-0')).toBe(uid);
  expect(claimDeletes('data-plain-0')).toEqual([]);
  expect((await listPods(c, ns)).some((p) => p.metadata!.name === 'plain-7')).toBe(true);
  expect(await eventReasons(c, ns, 'plain')).toEqual([]);
});
