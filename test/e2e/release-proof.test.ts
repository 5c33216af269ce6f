// The release proof, end to end: what a pod patcher or a stale cache could once turn into a deleted claim.
// Each test failed on the code before the proof was read afresh and bound to the drain pod's containers.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readAudit } from '../../local-cluster/audit.ts';
import { eventReasons, eventually, listClaims, listPods } from '../../local-cluster/cluster-client.ts';
import { FaultProxy } from '../../local-cluster/fault-proxy.ts';
import { createReadySet, scale, simulatedDrain } from '../../local-cluster/workloads.ts';
import { ROLE_LABEL, ROLE_PLACEHOLDER } from '../../src/planner/keys.ts';
import { sharedControlPlane } from '../jest/shared-control-plane.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('proof');

async function pod(name: string) {
  return (await listPods(ctx.c, ctx.ns)).find((p) => p.metadata!.name === name);
}

async function liveClaimUid(name: string): Promise<string | undefined> {
  const claim = (await listClaims(ctx.c, ctx.ns)).find((p) => p.metadata!.name === name);
  return claim && !claim.metadata!.deletionTimestamp ? claim.metadata!.uid : undefined;
}

function claimDeletes(name: string) {
  return readAudit(sharedControlPlane().auditLog)
    .filter((e) => e.verb === 'delete' && e.resource === 'persistentvolumeclaims' && e.namespace === ctx.ns &&
      e.name === name && e.code < 300);
}

const drainsStarted = async (metrics: string) => Number(metrics.match(/^sdc_drains_started_total (\d+)$/m)?.[1]);

test('someone who may patch pods points a running drain pod at another image: its Succeeded releases nothing, and a new drain ' +
    'does the work', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await createReadySet(c, ns, { name: 'vault', replicas: 2, template: simulatedDrain({ after: '8s' }) });
  await scale(c, ns, 'vault', 1);
  const first = await eventually('drain pod vault-1 running', async () => {
    const p = await pod('vault-1');
    return p?.metadata?.labels?.[ROLE_LABEL] && p.status?.phase === 'Running' ? p : undefined;
  });
  await c.kubectl(['-n', ns, 'set', 'image', 'pod/vault-1', 'drain=busybox:evil']);
  await eventually('the changed drain pod reported', async () => (await eventReasons(c, ns, 'vault')).includes('DrainPodModified'));
  await eventually('the changed drain pod Succeeded and removed',
    async () => (await pod('vault-1'))?.metadata?.uid !== first.metadata!.uid);
  // Not released by the changed pod: only once a second, unchanged drain pod has run.
  await eventually('claim released by a second drain', async () => (await liveClaimUid('data-vault-1')) === undefined, 90_000);
  expect(await drainsStarted(await controller.metrics())).toBe(2);
  expect(claimDeletes('data-vault-1')).toHaveLength(1);
});

test('a released claim still being deleted keeps its ordinal\'s name: the set grows back, and its replica starts only once the claim is ' +
    'gone, on a fresh claim', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 3, template: simulatedDrain({ after: '1s' }) });
  const old = await liveClaimUid('data-db-2');
  // A finalizer of the test's own keeps the released claim Terminating, as a slow storage plugin's would.
  await c.kubectl(['-n', ns, 'patch', 'pvc', 'data-db-2', '--type=merge', '-p',
    '{"metadata":{"finalizers":["e2e.test/hold","kubernetes.io/pvc-protection"]}}']);
  await scale(c, ns, 'db', 2);
  const placeholder = await eventually('claim released (Terminating) under the placeholder', async () => {
    const claim = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-2');
    const holder = await pod('db-2');
    return claim?.metadata?.deletionTimestamp && holder?.metadata?.labels?.[ROLE_LABEL] === ROLE_PLACEHOLDER ? holder : undefined;
  });
  expect(placeholder.spec!.volumes ?? []).toEqual([]);
  expect(placeholder.spec!.nodeName).toBeUndefined();
  await scale(c, ns, 'db', 3);
  // The StatefulSet controller now wants db-2: the name stays the placeholder's while the claim is being deleted.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  expect((await pod('db-2'))?.metadata?.uid).toBe(placeholder.metadata!.uid);
  await c.kubectl(['-n', ns, 'patch', 'pvc', 'data-db-2', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers/0"}]']);
  const replica = await eventually('replica db-2 running on a fresh claim', async () => {
    const p = await pod('db-2');
    const fresh = await liveClaimUid('data-db-2');
    return p?.metadata?.labels?.['statefulset.kubernetes.io/pod-name'] === 'db-2' && p.status?.phase === 'Running' && fresh &&
      fresh !== old ? p : undefined;
  }, 90_000);
  expect(replica.spec!.volumes!.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName).toBe('data-db-2');
  // From the audit log: no pod of that name was created while the released claim still existed.
  const audit = readAudit(sharedControlPlane().auditLog).filter((e) => e.namespace === ns && e.code < 300);
  const claimGone = audit.filter((e) => e.resource === 'persistentvolumeclaims' && e.name === 'data-db-2' && e.verb === 'create').at(-1)!;
  const replicaCreates = audit.filter((e) => e.verb === 'create' && e.resource === 'pods' && e.name === 'db-2' &&
    e.requestObject?.metadata?.labels?.[ROLE_LABEL] === undefined);
  expect(replicaCreates.length).toBeGreaterThan(0);
  for (const e of replicaCreates.filter((x) => x.time > placeholder.metadata!.creationTimestamp!.getTime()))
    expect(e.time).toBeGreaterThanOrEqual(claimGone.time);
});

test('a replica started on a claim the controller released, still Terminating (its placeholder deleted by hand), is reported', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 3, template: simulatedDrain({ after: '1s' }) });
  await c.kubectl(['-n', ns, 'patch', 'pvc', 'data-db-2', '--type=merge', '-p',
    '{"metadata":{"finalizers":["e2e.test/hold","kubernetes.io/pvc-protection"]}}']);
  await scale(c, ns, 'db', 2);
  await eventually('claim released (Terminating) under the placeholder', async () => {
    const claim = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-2');
    return claim?.metadata?.deletionTimestamp && (await pod('db-2'))?.metadata?.labels?.[ROLE_LABEL] === ROLE_PLACEHOLDER;
  });
  // What the race leaves behind once the name is free: a replica of ordinal
  // 2 on the Terminating claim (made here by hand, adopted by the set).
  await c.kubectl(['-n', ns, 'delete', 'pod', 'db-2', '--wait=true']);
  await scale(c, ns, 'db', 3);
  const replica = structuredClone((await pod('db-1'))!);
  await c.core.createNamespacedPod({ namespace: ns, body: {
    metadata: { name: 'db-2', labels: { ...replica.metadata!.labels, 'statefulset.kubernetes.io/pod-name': 'db-2',
      'apps.kubernetes.io/pod-index': '2' } },
    spec: {
      nodeName: replica.spec!.nodeName, tolerations: replica.spec!.tolerations,
      containers: [{ name: 'app', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-2' } }],
    },
  } }).catch(() => undefined); // the StatefulSet controller may have made it first, on the same claim
  await eventually('ReplicaOnReleasedClaim reported', async () => (await eventReasons(c, ns, 'db')).includes('ReplicaOnReleasedClaim'));
  await c.kubectl(['-n', ns, 'patch', 'pvc', 'data-db-2', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers/0"}]']);
});

test('someone who may patch pods strips the drain labels from a running drain pod: reported, it releases nothing, and once finished a ' +
    'new drain does the work', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await createReadySet(c, ns, { name: 'vault', replicas: 2, template: simulatedDrain({ after: '8s' }) });
  await scale(c, ns, 'vault', 1);
  const first = await eventually('drain pod vault-1 running', async () => {
    const p = await pod('vault-1');
    return p?.metadata?.labels?.[ROLE_LABEL] && p.status?.phase === 'Running' ? p : undefined;
  });
  await c.kubectl(['-n', ns, 'label', 'pod', 'vault-1', `${ROLE_LABEL}-`]);
  await eventually('the relabelled drain pod reported', async () => (await eventReasons(c, ns, 'vault')).includes('DrainPodRelabelled'));
  expect(await controller.metrics()).toMatch(/^sdc_held_ordinals 1$/m);
  await eventually('the relabelled drain pod finished and removed',
    async () => (await pod('vault-1'))?.metadata?.uid !== first.metadata!.uid, 60_000);
  await eventually('claim released by a second drain', async () => (await liveClaimUid('data-vault-1')) === undefined, 90_000);
  expect(await drainsStarted(await controller.metrics())).toBe(2);
  expect(claimDeletes('data-vault-1')).toHaveLength(1);
});

describe('behind a proxy', () => {
  let proxy: FaultProxy;
  beforeEach(async () => {
    proxy = await FaultProxy.start(ctx.c.kubeconfig, mkdtempSync(path.join(os.tmpdir(), 'sdc-proxy-')));
  });
  afterEach(async () => {
    await proxy.stop();
  });

  test('a drain pod that ended after a scale-up, still Succeeded in a silent pod watch, does not release the claim the returning ' +
      'replica wrote to', async () => {
    const { c, ns } = ctx;
    const controller = await ctx.start([`--kubeconfig=${proxy.kubeconfig}`, '--watch-idle-timeout=45s']);
    await createReadySet(c, ns, { name: 'vault', replicas: 3, template: simulatedDrain({ after: '6s' }) });
    await scale(c, ns, 'vault', 2);
    await eventually('drain pod vault-2 running', async () => (await pod('vault-2'))?.status?.phase === 'Running');
    // When the controller deletes the finished drain pod (the set grew back over it), its pod watches go quiet first.
    proxy.rules = [{
      match: (req) => req.method === 'DELETE' && req.path.endsWith('/pods/vault-2'),
      fault: { kind: 'delay', ms: 0 },
      times: 1,
      onMatch: () => {
        proxy.silenceOpenWatches((p) => p.endsWith('/pods'));
      },
    }];
    await scale(c, ns, 'vault', 3);
    await eventually('replica vault-2 back and running', async () => {
      const p = await pod('vault-2');
      return p && !p.metadata?.labels?.[ROLE_LABEL] && p.status?.phase === 'Running';
    }, 90_000);
    expect(proxy.injected.silenced).toBeGreaterThan(0);
    const uid = await liveClaimUid('data-vault-2');
    await scale(c, ns, 'vault', 2);
    await eventually('replica vault-2 gone', async () => (await pod('vault-2')) === undefined);
    await ctx.reconciled(controller, 'vault');
    expect(await liveClaimUid('data-vault-2')).toBe(uid);
    expect(claimDeletes('data-vault-2')).toEqual([]);
    // Once the pod watch is resumed, the data the replica wrote is drained like any other.
    await eventually('claim released by a new drain', async () => (await liveClaimUid('data-vault-2')) === undefined, 120_000);
    expect(await drainsStarted(await controller.metrics())).toBe(2);
  });
});
