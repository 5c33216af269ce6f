// The controller as users run it: its image built from the project's Dockerfile, installed with
// `kubectl apply -k` of the namespaced overlay, two replicas on a real node electing a leader through the
// Lease, draining a scale-down with real containers, scraped through its pod's port, and handing the Lease
// over at once when a rollout stops the leader (SIGTERM). The Helm chart, installed and uninstalled the same way.
import { execFile, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { claimNames, eventually, listPods } from '../../local-cluster/cluster-client.ts';
import { helmBinary, intoNamespace, loadControllerImage } from '../../local-cluster/install.ts';
import { createReadySet, scale, SHARD_WRITER } from '../../local-cluster/workloads.ts';
import { useE2E } from '../e2e/e2e-context.ts';
import { REAL_NODE_UNAVAILABLE, sharedControlPlane } from '../jest/shared-control-plane.ts';

const test = process.env[REAL_NODE_UNAVAILABLE] ? globalThis.test.skip : globalThis.test;
const ctx = useE2E('incluster', 'real-node');
const LEASE = 'statefulset-drain-controller';
const manifestsDir = (overlay: string) => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'manifests', overlay);

async function controllerPods(): Promise<V1Pod[]> {
  return (await ctx.c.core.listNamespacedPod({ namespace: ctx.ns,
    labelSelector: 'app.kubernetes.io/name=statefulset-drain-controller' })).items;
}

const ready = (p: V1Pod) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');

async function leaseHolder(): Promise<string> {
  return (await ctx.c.coordination.readNamespacedLease({ namespace: ctx.ns, name: LEASE })).spec?.holderIdentity ?? '';
}

test('kubectl apply -k manifests/namespaced: the image runs non-root and read-only, elects a leader, drains, serves /metrics, and hands ' +
    'the Lease over on SIGTERM', async () => {
  const { c, ns } = ctx;
  const { archive } = await loadControllerImage(sharedControlPlane('real-node'));
  process.stdout.write(`controller image archive: ${(statSync(archive).size / 2 ** 20).toFixed(1)} MiB\n`);
  await c.kubectl(['apply', '-k', intoNamespace('namespaced', ns)]);
  const pods = await eventually('both replicas Ready', async () => {
    const all = await controllerPods();
    return all.length === 2 && all.every(ready) ? all : undefined;
  }, 120_000);
  for (const pod of pods) {
    const started = new Date(pod.metadata!.creationTimestamp!).getTime();
    const readyAt = new Date(pod.status!.conditions!.find((x) => x.type === 'Ready')!.lastTransitionTime!).getTime();
    process.stdout.write(`${pod.metadata!.name}: Ready ${((readyAt - started) / 1000).toFixed(1)}s after creation\n`);
    const container = pod.spec!.containers[0]!;
    expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(pod.spec!.securityContext?.runAsUser).toBe(65532);
    expect(pod.status!.containerStatuses![0]!.restartCount).toBe(0);
  }
  const leader = await eventually('a leader', async () => (await leaseHolder()) || undefined, 60_000);
  const leaderPod = pods.find((p) => leader.startsWith(`${p.metadata!.name}_`))!;
  expect(leaderPod).toBeDefined();

  // A scale-down, drained by the in-cluster controller with a real drain container.
  await createReadySet(c, ns, {
    name: 'db', replicas: 2, app: SHARD_WRITER,
    template: { metadata: { labels: { role: 'drain' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'drain',
      image: 'busybox:1.37', command: ['sh', '-c', 'cat /data/shard.txt'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } },
  });
  await scale(c, ns, 'db', 1);
  await eventually('claim released by the in-cluster controller', async () => !(await claimNames(c, ns)).includes('data-db-1'), 120_000);

  // /metrics through the pod's own port (the API server's pod proxy).
  const metrics = await c.kubectl(['get', '--raw', `/api/v1/namespaces/${ns}/pods/${leaderPod.metadata!.name}:8080/proxy/metrics`]);
  expect(metrics).toMatch(/^sdc_claims_released_total 1$/m);
  expect(metrics).toMatch(/^leader_election_master_status\{name="statefulset-drain-controller"\} 1$/m);
  const rss = Number(/^process_resident_memory_bytes (\S+)$/m.exec(metrics)![1]);
  process.stdout.write(`leader RSS after the drain: ${(rss / 2 ** 20).toFixed(1)} MiB\n`);

  // A rollout stops the leader with SIGTERM: it releases the Lease, so a new leader takes it at once, not
  // after the 15 s lease duration.
  let leaderLog = '';
  const follow = spawn('kubectl', [`--kubeconfig=${c.kubeconfig}`, '-n', ns, 'logs', '-f', leaderPod.metadata!.name!],
    { stdio: ['ignore', 'pipe', 'ignore'] });
  follow.stdout.on('data', (chunk: Buffer) => (leaderLog += chunk.toString('utf8')));
  await c.kubectl(['-n', ns, 'rollout', 'restart', 'deployment/statefulset-drain-controller']);
  await eventually('the old leader stopped',
    async () => (await listPods(c, ns)).every((p) => p.metadata!.name !== leaderPod.metadata!.name), 120_000);
  follow.kill();
  expect(leaderLog).toMatch(/"message":"shutting down","signal":"SIGTERM"/);
  expect(leaderLog).toMatch(/"message":"stopped"/);
  const next = await eventually('a new leader', async () => {
    const holder = await leaseHolder();
    return holder && holder !== leader ? holder : undefined;
  }, 60_000);
  const lease = await c.coordination.readNamespacedLease({ namespace: ns, name: LEASE });
  const handover = new Date(lease.spec!.acquireTime as unknown as string).getTime() -
    new Date(/"message":"stopped","timestamp":"([^"]+)"/.exec(leaderLog)![1]!).getTime();
  process.stdout.write(`lease: ${leader} -> ${next}, taken ${(handover / 1000).toFixed(1)}s after the old leader stopped\n`);
  expect(handover).toBeLessThan(15_000);
}, 400_000);

test('kubectl apply -k manifests/cluster-wide: the controller in its own namespace drains a set in another one', async () => {
  const { c, ns } = ctx;
  await loadControllerImage(sharedControlPlane('real-node'));
  const home = 'statefulset-drain-controller';
  await c.kubectl(['apply', '-k', manifestsDir('cluster-wide')]);
  try {
    await eventually('both replicas Ready', async () => {
      const all =
        (await c.core.listNamespacedPod({ namespace: home, labelSelector: 'app.kubernetes.io/name=statefulset-drain-controller' })).items;
      return all.length === 2 && all.every(ready);
    }, 120_000);
    await createReadySet(c, ns, {
      name: 'db', replicas: 2, app: SHARD_WRITER,
      template: { metadata: { labels: { role: 'drain' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'drain',
        image: 'busybox:1.37', command: ['sh', '-c', 'cat /data/shard.txt'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } },
    });
    await scale(c, ns, 'db', 1);
    await eventually('claim released by the cluster-wide controller',
      async () => !(await claimNames(c, ns)).includes('data-db-1'), 120_000);
  } finally {
    await c.kubectl(['delete', '-k', manifestsDir('cluster-wide'), '--wait=false']).catch(() => '');
  }
}, 300_000);

test('helm install of the chart (namespace scope): the image from the Dockerfile elects a leader and drains; helm uninstall ' +
    'leaves nothing', async () => {
  const { c, ns } = ctx;
  await loadControllerImage(sharedControlPlane('real-node'));
  const chart = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'charts', 'statefulset-drain-controller');
  const helm = (...args: string[]) => promisify(execFile)(helmBinary(), [...args, `--kubeconfig=${c.kubeconfig}`, '--namespace', ns]);
  // What the chart renders for either scope is accepted by the API server as it stands.
  for (const scope of ['cluster', 'namespace']) {
    const rendered = (await helm('template', 'sdc', chart, '--set', `scope=${scope}`)).stdout;
    await c.kubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], rendered);
  }
  await helm('install', 'sdc', chart, '--set', 'scope=namespace', '--wait', '--timeout', '3m');
  await eventually('a leader', async () => (await leaseHolder()) || undefined, 60_000);
  await createReadySet(c, ns, {
    name: 'db', replicas: 2, app: SHARD_WRITER,
    template: { metadata: { labels: { role: 'drain' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'drain',
      image: 'busybox:1.37', command: ['sh', '-c', 'cat /data/shard.txt'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } },
  });
  await scale(c, ns, 'db', 1);
  await eventually('claim released by the controller the chart installed',
    async () => !(await claimNames(c, ns)).includes('data-db-1'), 120_000);
  await helm('uninstall', 'sdc', '--wait');
  const left =
    await c.kubectl(['-n', ns, 'get', 'deployments,serviceaccounts,roles,rolebindings,services,networkpolicies,poddisruptionbudgets',
    '-l', 'app.kubernetes.io/instance=sdc', '-o', 'name']);
  expect(left.trim()).toBe('');
}, 400_000);
