// The local control plane behaves like a real cluster: the real StatefulSet controller, garbage collector,
// volume binding and scheduler, with kwok running pods. No project controller is involved here.
import { existsSync } from 'node:fs';
import { readAudit } from '../../local-cluster/audit.ts';
import { isAlive } from '../../local-cluster/processes.ts';
import { startControlPlane, stopControlPlane } from '../../local-cluster/control-plane.ts';
import { claimNames, clusterClient, eventually, listClaims, podNames } from '../../local-cluster/cluster-client.ts';
import { sharedControlPlane } from '../jest/shared-control-plane.ts';
import { createNamespace, deleteNamespace } from '../../local-cluster/namespaces.ts';
import { createReadySet, scale } from '../../local-cluster/workloads.ts';

const c = clusterClient(sharedControlPlane().kubeconfig);
let ns: string;
beforeEach(async () => {
  ns = await createNamespace(c, 'cp');
});
afterEach(() => deleteNamespace(c, ns));

test('a StatefulSet with 3 replicas gets 3 Running+Ready pods and 3 Bound claims', async () => {
  await createReadySet(c, ns, { name: 'web', replicas: 3, template: null });
  const pods = (await c.core.listNamespacedPod({ namespace: ns })).items;
  expect(pods.map((p) => [p.metadata!.name, p.status!.phase, p.status!.conditions?.find((x) => x.type === 'Ready')?.status]).sort())
    .toEqual([['web-0', 'Running', 'True'], ['web-1', 'Running', 'True'], ['web-2', 'Running', 'True']]);
  const claims = await eventually('claims bound', async () => {
    const list = await listClaims(c, ns);
    return list.every((p) => p.status?.phase === 'Bound') && list.length === 3 ? list : undefined;
  });
  expect(claims.map((p) => p.metadata!.name).sort()).toEqual(['data-web-0', 'data-web-1', 'data-web-2']);
});

test('kubectl scale to 2 deletes pod 2 and keeps its claim (the StatefulSet controller alone)', async () => {
  await createReadySet(c, ns, { name: 'web', replicas: 3, template: null });
  await scale(c, ns, 'web', 2);
  await eventually('pod web-2 gone', async () => !(await podNames(c, ns)).includes('web-2'));
  expect(await podNames(c, ns)).toEqual(['web-0', 'web-1']);
  expect(await claimNames(c, ns)).toEqual(['data-web-0', 'data-web-1', 'data-web-2']);
});

test('kwok deletes a scaled-down pod as a kubelet does, with its UID as a precondition', async () => {
  // Without the precondition a repeated delete by name can remove a new pod that took the name (a drain pod).
  await createReadySet(c, ns, { name: 'web', replicas: 2, template: null });
  await scale(c, ns, 'web', 1);
  await eventually('pod web-1 gone', async () => !(await podNames(c, ns)).includes('web-1'));
  const kwokDeletes = readAudit(sharedControlPlane().auditLog)
    .filter((e) => e.verb === 'delete' && e.resource === 'pods' && e.namespace === ns && e.userAgent.startsWith('kwok/'));
  expect(kwokDeletes.length).toBeGreaterThan(0);
  expect(kwokDeletes.filter((e) => !e.requestObject?.preconditions?.uid)).toEqual([]);
});

test('with whenScaled: Delete the garbage collector removes the claim on scale-down', async () => {
  await createReadySet(c, ns, { name: 'web', replicas: 3, template: null, whenScaled: 'Delete' });
  await scale(c, ns, 'web', 2);
  await eventually('claim data-web-2 collected', async () => !(await claimNames(c, ns)).includes('data-web-2'));
  expect(await claimNames(c, ns)).toEqual(['data-web-0', 'data-web-1']);
});

test('the drain-sim annotations drive a pod to Succeeded or Failed, with matching container status', async () => {
  const pod = (name: string, phase?: string) => ({
    metadata: { name, annotations: { 'drain-sim/complete-after': '1s', ...(phase ? { 'drain-sim/complete-phase': phase } : {}) } },
    spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
  });
  await c.core.createNamespacedPod({ namespace: ns, body: pod('ok') });
  await c.core.createNamespacedPod({ namespace: ns, body: pod('bad', 'Failed') });
  await c.core.createNamespacedPod({ namespace: ns,
    body: { metadata: { name: 'forever' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
  const final = async (name: string) => (await c.core.readNamespacedPod({ namespace: ns, name })).status!;
  const ok = await eventually('ok Succeeded', async () => ((await final('ok')).phase === 'Succeeded' ? final('ok') : undefined));
  expect(ok.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
  const bad = await eventually('bad Failed', async () => ((await final('bad')).phase === 'Failed' ? final('bad') : undefined));
  expect(bad.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(1);
  expect((await final('forever')).phase).toBe('Running');
});

test('teardown leaves no control plane process behind', async () => {
  const cp = await startControlPlane({ nodes: 1, log: () => {} });
  const pids = Object.values(cp.components).map((x) => x.pid);
  expect(pids.every(isAlive)).toBe(true);
  await stopControlPlane(cp);
  expect(pids.filter(isAlive)).toEqual([]);
  expect(existsSync(cp.dir)).toBe(false);
});
