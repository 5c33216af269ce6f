// On a real node (kubelet, containerd, runc, real volumes): drain containers really move data, and a claim is
// released only after its drain succeeded. Every file asserted here is read back from the volume's disk.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { claimNames, eventReasons, eventually, listClaims, listPods, readyReplicas } from '../../local-cluster/cluster-client.ts';
import { claimDirectory, filesUnder } from '../../local-cluster/storage.ts';
import { createReadySet, scale, SHARD_WRITER } from '../../local-cluster/workloads.ts';
import { useE2E } from '../e2e/e2e-context.ts';
import { REAL_NODE_UNAVAILABLE, sharedControlPlane } from '../jest/shared-control-plane.ts';
import { readAudit } from '../../local-cluster/audit.ts';
import { startComponent, stopComponent } from '../../local-cluster/control-plane.ts';

// Without root there is no real node: every test here is reported as skipped (the global set-up says why).
const test = process.env[REAL_NODE_UNAVAILABLE] ? globalThis.test.skip : globalThis.test;
const ctx = useE2E('real', 'real-node');
const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');
const DRAINER = 'drain.statefulsets.kubernetes.io/role';

/** A drain template running `script` (sh -c) in busybox with the set's `data` claim at /data. */
function drainRunning(script: string, extra: Record<string, unknown> = {}) {
  return {
    metadata: { labels: { role: 'drain' } },
    spec: { restartPolicy: 'Never', containers: [{ name: 'drain', image: 'busybox:1.37', command: ['sh', '-euc', script],
      volumeMounts: [{ name: 'data', mountPath: '/data' }] }], ...extra },
  };
}

/** A set whose replicas each write `shard <pod name>` into /data/shard.txt, on their claims. */
async function shardedSet(name: string, replicas: number, template: unknown, annotations: Record<string, string> = {}) {
  await createReadySet(ctx.c, ctx.ns, { name, replicas, template, annotations, app: SHARD_WRITER });
}

test.each([
  { example: 'datastore', set: 'datastore', replicas: 3, scaleTo: 2, archive: 'datastore-archive',
    files: { 'datastore-2/shard.txt': 'shard datastore-2\n' } },
  { example: 'parallel', set: 'cache', replicas: 6, scaleTo: 2, archive: 'cache-archive',
    files: ['cache-2.tar', 'cache-3.tar', 'cache-4.tar', 'cache-5.tar'] },
  { example: 'two-claims', set: 'ledger', replicas: 3, scaleTo: 2, archive: 'ledger-exports', files: ['ledger-2.tgz'] },
])('examples/$example on a real node: the drain containers fill the archive, then the claims are released', async ({ example, set, replicas,
    scaleTo, archive, files }) => {
  const { c, ns } = ctx;
  await ctx.start();
  await c.kubectl(['-n', ns, 'apply', '-f', path.join(examples, example, 'statefulset.yaml')]);
  // Host-path volumes ignore fsGroup: open the archive to drain containers that run as a non-root user.
  await c.kubectl(['-n', ns, 'run', 'open-archive', '--image=busybox:1.37', '--restart=Never', '--overrides', JSON.stringify({
    spec: { containers: [{ name: 'chmod', image: 'busybox:1.37', command: ['chmod', '1777', '/archive'],
      volumeMounts: [{ name: 'a', mountPath: '/archive' }] }], volumes: [{ name: 'a', persistentVolumeClaim: { claimName: archive } }] },
  })]);
  await eventually(`${set} ready`, async () => (await readyReplicas(c, ns, set)) === replicas, 120_000);
  await scale(c, ns, set, scaleTo);
  await eventually('removed replicas\' claims released', async () => {
    const names = await claimNames(c, ns);
    return Array.from({ length: replicas - scaleTo }, (_, i) => scaleTo + i).every((o) => !names.some((n) => n.endsWith(`-${set}-${o}`)));
  }, 150_000);
  const archived = filesUnder(await claimDirectory(c, ns, archive));
  if (Array.isArray(files)) for (const file of files) expect(Object.keys(archived)).toContain(file);
  else for (const [file, content] of Object.entries(files)) expect(archived[file]).toBe(content);
  // DrainCompleted follows the drain pod's deletion, a moment after the last claim's.
  await eventually('a DrainCompleted event per drained ordinal',
    async () => (await eventReasons(c, ns, set)).filter((r) => r === 'DrainCompleted').length === replicas - scaleTo, 30_000);
});

test('a drain container that exits 1 releases nothing: the claim keeps every file, and what the drain wrote to it', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  await shardedSet('db', 2, drainRunning('echo half-moved > /data/progress; exit 1'),
    { 'statefulsets.kubernetes.io/drainer-max-attempts': '1' });
  const uid = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')!.metadata!.uid;
  await scale(c, ns, 'db', 1);
  await eventually('DrainFailed', async () => (await eventReasons(c, ns, 'db')).includes('DrainFailed'), 120_000);
  await eventually('gave up', async () => ctx.controllers[0]!.entries().some((e) => e.message === 'synced' &&
    (e.ordinals as string[] | undefined)?.includes('1:gave-up')));
  const claim = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')!;
  expect([claim.metadata!.uid, claim.metadata!.deletionTimestamp]).toEqual([uid, undefined]);
  expect(filesUnder(await claimDirectory(c, ns, 'data-db-1'))).toEqual({ 'progress': 'half-moved\n', 'shard.txt': 'shard db-1\n' });
  const drain = (await listPods(c, ns)).find((p) => p.metadata!.name === 'db-1')!;
  expect(drain.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(1);
});

test('a drain container killed mid-copy (its pod deleted) never leads to a release; the next drain finishes the job', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await shardedSet('db', 2, drainRunning('echo started >> /data/attempts; sleep 8; cp /data/shard.txt /data/copied'));
  const uid = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')!.metadata!.uid;
  await scale(c, ns, 'db', 1);
  const first = await eventually('drain running', async () => (await listPods(c, ns)).find((p) => p.metadata!.name === 'db-1' &&
    p.metadata!.labels?.[DRAINER] && p.status?.phase === 'Running'), 120_000);
  await c.kubectl(['-n', ns, 'delete', 'pod', 'db-1', '--grace-period=0', '--force']);
  const second = await eventually('a new drain pod', async () => (await listPods(c, ns)).find((p) => p.metadata!.name === 'db-1' &&
    p.metadata!.uid !== first.metadata!.uid), 60_000);
  expect((await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')?.metadata!.uid).toBe(uid);
  expect(second.metadata!.labels?.[DRAINER]).toBe('drainer');
  await eventually('released after the second drain succeeded', async () => !(await claimNames(c, ns)).includes('data-db-1'), 120_000);
  // One success recorded, the second pod's; one release, of that claim.
  const recorded = controller.entries().filter((e) => e.message === 'recorded the drain\'s success on its claims');
  expect(recorded.map((e) => e.drainPodUid)).toEqual([second.metadata!.uid]);
  const releases = controller.entries().filter((e) => e.message === 'released claim');
  expect(releases.map((e) => e.claimUid)).toEqual([uid]);
});

test('the kubelet stopped mid-drain and started again: nothing is released while it is away, the drain finishes once', async () => {
  const { c, ns } = ctx;
  const cp = sharedControlPlane('real-node');
  const controller = await ctx.start();
  await shardedSet('db', 2, drainRunning('sleep 5; cp /data/shard.txt /data/copied'));
  const uid = (await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')!.metadata!.uid;
  await scale(c, ns, 'db', 1);
  await eventually('drain running', async () => (await listPods(c, ns)).some((p) => p.metadata!.name === 'db-1' &&
    p.metadata!.labels?.[DRAINER] && p.status?.phase === 'Running'), 120_000);
  await stopComponent(cp, 'kubelet');
  try {
    // The container finishes while the kubelet is away (its 5 s are over); nobody reports it, so nothing may be
    // released: the controller, reconciling after that, still sees a drain running.
    await new Promise((r) => setTimeout(r, 8_000));
    await ctx.reconciled(controller, 'db');
    const last = controller.entries().filter((e) => e.message === 'synced' && e.statefulset === `${ns}/db`).at(-1);
    expect(last?.ordinals).toEqual(['1:draining']);
    expect((await listClaims(c, ns)).find((p) => p.metadata!.name === 'data-db-1')?.metadata!.uid).toBe(uid);
  } finally {
    await startComponent(cp, 'kubelet');
  }
  await eventually('released once the kubelet reported Succeeded', async () => !(await claimNames(c, ns)).includes('data-db-1'), 120_000);
  expect((await eventReasons(c, ns, 'db')).filter((r) => r === 'DrainStarted')).toHaveLength(1);
});

test('the real kubelet deletes pods with a UID precondition, as the harness\'s patched kwok does (the gap kwok had)', async () => {
  const { c, ns } = ctx;
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: null, app: SHARD_WRITER });
  await scale(c, ns, 'db', 1);
  await eventually('pod db-1 gone', async () => !(await listPods(c, ns)).some((p) => p.metadata!.name === 'db-1'), 120_000);
  const kubeletDeletes = readAudit(sharedControlPlane('real-node').auditLog)
    .filter((e) => e.verb === 'delete' && e.resource === 'pods' && e.namespace === ns && e.userAgent.startsWith('kubelet/'));
  expect(kubeletDeletes.length).toBeGreaterThan(0);
  expect(kubeletDeletes.filter((e) => !e.requestObject?.preconditions?.uid)).toEqual([]);
});
