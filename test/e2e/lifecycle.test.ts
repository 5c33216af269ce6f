// The controller's own life: crashes, leader changes, StatefulSet deletion, and what operators look at.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { claimNames, eventReasons, eventually, listClaims, listPods, podNames } from '../../local-cluster/cluster-client.ts';
import { annotateSet, createReadySet, scale, simulatedDrain, statefulSet, TEMPLATE_ANNOTATION } from '../../local-cluster/workloads.ts';
import { controllerReplica, readAudit } from '../../local-cluster/audit.ts';
import { DRAIN_POD_ANNOTATION, FINALIZER, ROLE_DRAINER, ROLE_LABEL } from '../../src/planner/keys.ts';
import { sharedControlPlane } from '../jest/shared-control-plane.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('life');
const DRAINERS = 'drain.statefulsets.kubernetes.io/role=drainer';
const drainPhase = async (name: string) => (await listPods(ctx.c, ctx.ns)).find((p) => p.metadata!.name === name &&
  p.metadata!.labels?.['drain.statefulsets.kubernetes.io/role'])?.status?.phase;

test('a controller killed with SIGKILL mid-drain and restarted finishes the drain: no claim lost, no duplicate drain pod', async () => {
  const { c, ns } = ctx;
  const first = await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 3, template: simulatedDrain({ after: '3s' }) });
  await scale(c, ns, 'db', 2);
  await eventually('drain running', async () => (await drainPhase('db-2')) === 'Running');
  // Mid-drain means after the controller recorded the pod on its claim (a kill before that record is the
  // crash-at-write test's case, where the unproven pod is replaced).
  await eventually('drain pod recorded on its claim', async () => (await listClaims(c, ns))
    .find((p) => p.metadata!.name === 'data-db-2')?.metadata?.annotations?.[DRAIN_POD_ANNOTATION] !== undefined);
  await first.stop('SIGKILL');
  await eventually('drain Succeeded while no controller runs', async () => (await drainPhase('db-2')) === 'Succeeded');
  expect(await claimNames(c, ns)).toContain('data-db-2');
  await ctx.start();
  await eventually('released by the new controller', async () => !(await claimNames(c, ns)).includes('data-db-2'));
  await eventually('drain pod gone', async () => (await podNames(c, ns, DRAINERS)).length === 0);
  // One drain pod created in all (events are best effort: a SIGKILL may take a queued one with it).
  const creates = readAudit(sharedControlPlane().auditLog).filter((e) => e.namespace === ns && e.verb === 'create' && e.resource === 'pods'
    && e.name === 'db-2' && controllerReplica(e) !== undefined && e.code < 300 &&
      e.requestObject?.metadata?.labels?.[ROLE_LABEL] === ROLE_DRAINER);
  expect(creates).toHaveLength(1);
});

test('a set deleted with --cascade=orphan mid-drain (to change its claim templates) and recreated: the drain finishes, the claim is ' +
    'released, the set grows back over the ordinal', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  await createReadySet(c, ns, { name: 're', replicas: 3, template: simulatedDrain({ after: '6s' }) });
  await scale(c, ns, 're', 2);
  await eventually('drain running', async () => (await drainPhase('re-2')) === 'Running');
  // The garbage collector strips the drain pod's owner reference; the finalizer holds the set until the drain is over.
  await c.kubectl(['-n', ns, 'delete', 'statefulset', 're', '--cascade=orphan', '--timeout=90s']);
  await c.apps.createNamespacedStatefulSet({ namespace: ns,
    body: statefulSet({ name: 're', replicas: 2, template: simulatedDrain({ after: '1s' }) }) });
  await eventually('data-re-2 released', async () => !(await claimNames(c, ns)).includes('data-re-2'), 90_000);
  await eventually('drain pod gone', async () => (await podNames(c, ns, DRAINERS)).length === 0);
  await scale(c, ns, 're', 3);
  await eventually('replica re-2 back', async () => (await listPods(c, ns)).some((p) => p.metadata!.name === 're-2' &&
    !p.metadata!.labels?.['drain.statefulsets.kubernetes.io/role'] && p.status?.phase === 'Running'), 90_000);
});

test('two replicas with leader election: only the leader acts; when it is killed the other takes over', async () => {
  const { c, ns } = ctx;
  const a = await ctx.start();
  const b = await ctx.start();
  const holder = async () =>
    (await c.coordination.readNamespacedLease({ namespace: ns, name: 'statefulset-drain-controller' })).spec?.holderIdentity;
  const leaderId = await eventually('a leader', holder);
  const [leader, follower] = leaderId?.endsWith(`_${a.process.pid}`) ? [a, b] : [b, a];
  await createReadySet(c, ns, { name: 'db', replicas: 3 });
  await eventually('finalizer added by the leader',
    async () => (await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' })).metadata?.finalizers?.includes(FINALIZER));
  expect(await follower.metrics()).toMatch(/^sdc_leader 0$/m);
  expect(await leader.metrics()).toMatch(/^sdc_leader 1$/m);

  // While both run, only the leader acts: it drains ordinal 2, and the follower creates nothing.
  const createdDrainPod = (replica: typeof a) => replica.entries().some((e) => e.message === 'created drain pod');
  await scale(c, ns, 'db', 2);
  await eventually('ordinal 2 drained by the leader', async () => !(await claimNames(c, ns)).includes('data-db-2'), 60_000);
  expect(createdDrainPod(leader)).toBe(true);
  expect(createdDrainPod(follower)).toBe(false);

  await leader.stop('SIGKILL');
  await scale(c, ns, 'db', 1);
  await eventually('ordinal 1 drained by the new leader', async () => !(await claimNames(c, ns)).includes('data-db-1'), 60_000);
  expect(await holder()).toMatch(new RegExp(`_${follower.process.pid}$`));
  expect(createdDrainPod(follower)).toBe(true);
});

test('a leader paused past its renew deadline, with no one to take over, drains what happened meanwhile once it renews', async () => {
  const { c, ns } = ctx;
  const a = await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 3 });
  await eventually('finalizer added',
    async () => (await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' })).metadata?.finalizers?.includes(FINALIZER));
  a.process.kill('SIGSTOP');
  const paused = Date.now();
  await scale(c, ns, 'db', 2);
  await eventually('pod db-2 deleted while the controller is paused', async () => !(await podNames(c, ns)).includes('db-2'));
  // Past the 3s renew deadline: on waking it is no longer the leader until its next renewal succeeds.
  await new Promise((r) => setTimeout(r, Math.max(0, 4000 - (Date.now() - paused))));
  a.process.kill('SIGCONT');
  await eventually('drained once it leads again', async () => !(await claimNames(c, ns)).includes('data-db-2'), 30_000);
  const messages = a.entries().map((e) => e.message);
  expect(messages.filter((m) => m === 'became leader')).toHaveLength(2);
  expect(messages).toContain('lost leadership');
});

test('SIGTERM releases the lease so a standby takes over at once', async () => {
  const { c, ns } = ctx;
  const a = await ctx.start(['--lease-duration=15s', '--renew-deadline=10s', '--retry-period=500ms']);
  await eventually('a leads', async () => (await a.metrics()).match(/^sdc_leader 1$/m));
  await a.stop('SIGTERM');
  expect(a.entries().some((e) => e.message === 'stopped')).toBe(true);
  const lease = await c.coordination.readNamespacedLease({ namespace: ns, name: 'statefulset-drain-controller' });
  expect(lease.spec?.holderIdentity ?? '').toBe('');
  const b = await ctx.start(['--lease-duration=15s', '--renew-deadline=10s', '--retry-period=500ms']);
  // Well within the 15s lease duration: the lease was released, not left to expire.
  await eventually('b leads', async () => (await b.metrics()).match(/^sdc_leader 1$/m), 5000);
});

test('deleting a StatefulSet mid-drain: the finalizer keeps it until the drain is done, then lets go', async () => {
  const { c, ns } = ctx;
  await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: simulatedDrain({ after: '4s' }) });
  await scale(c, ns, 'db', 1);
  await eventually('drain running', async () => (await drainPhase('db-1')) === 'Running');
  await c.kubectl(['-n', ns, 'delete', 'statefulset', 'db', '--wait=false']);
  const set = await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' });
  expect(set.metadata!.deletionTimestamp).toBeDefined();
  await eventually('set gone after the drain', async () => {
    try {
      await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' });
      return false;
    } catch {
      return true;
    }
  });
  expect(await claimNames(c, ns)).toEqual(['data-db-0']);
});

test('removing the annotation removes the finalizer and starts no new drain', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 2 });
  await eventually('finalizer added',
    async () => (await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' })).metadata?.finalizers?.includes(FINALIZER));
  await annotateSet(c, ns, 'db', { [TEMPLATE_ANNOTATION]: null });
  await eventually('finalizer removed',
    async () => !(await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' })).metadata?.finalizers?.includes(FINALIZER));
  await scale(c, ns, 'db', 1);
  await eventually('pod db-1 gone', async () => !(await podNames(c, ns)).includes('db-1'));
  await ctx.reconciled(controller, 'db');
  expect(await claimNames(c, ns)).toEqual(['data-db-0', 'data-db-1']);
});

test('--dry-run logs the drain it would start and changes nothing', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start(['--dry-run']);
  await createReadySet(c, ns, { name: 'db', replicas: 2 });
  await scale(c, ns, 'db', 1);
  await eventually('would create', async () => controller.entries().some((e) => e.message === 'dry run: would perform' &&
    e.action === 'CreateDrainPod'));
  expect(await podNames(c, ns, DRAINERS)).toEqual([]);
  expect((await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' })).metadata?.finalizers).toBeUndefined();
});

test('the status command and the metrics show a drain in progress', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: simulatedDrain({ after: '30s' }) });
  const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.ts');
  // status --watch sees the scale-down happen: a new, time-stamped view each time the state changes.
  const watching = spawn(process.execPath, [main, 'status', '--watch', `--kubeconfig=${c.kubeconfig}`, '-n', ns],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  let watched = '';
  watching.stdout.on('data', (chunk: Buffer) => (watched += chunk.toString('utf8')));
  try {
    await eventually('the first view', async () => watched.includes('nothing to drain'));
    await scale(c, ns, 'db', 1);
    await eventually('drain running', async () => (await drainPhase('db-1')) === 'Running');
    await eventually('the watch shows the drain', async () => /drain pod db-1 is running \(attempt 1\)/.test(watched));
  } finally {
    watching.kill();
  }
  expect(watched.match(/^--- \d{4}-\d\d-\d\dT/gm)!.length).toBeGreaterThanOrEqual(2);
  const { stdout } = await promisify(execFile)(process.execPath, [main, 'status', `--kubeconfig=${c.kubeconfig}`, '-n', ns]);
  expect(stdout).toMatch(new RegExp(`${ns}/db\\s+1\\s+data-db-1\\s+db-1\\s+Running\\s+\\d+s\\s+0\\s+draining\\s+drain pod db-1 is ` +
    `running \\(attempt 1\\)`));
  const explained = (await promisify(execFile)(process.execPath, [main, 'why', 'db', `--kubeconfig=${c.kubeconfig}`, '-n', ns])).stdout;
  expect(explained.trim()).toBe(`${ns}/db ordinal 1 (data-db-1): draining: drain pod db-1 is running (attempt 1).`);
  // As a kubectl plugin (package.json installs the command also as kubectl-sts_drain): `kubectl sts-drain ...`.
  const plugins = mkdtempSync(path.join(os.tmpdir(), 'sdc-plugin-'));
  writeFileSync(path.join(plugins, 'kubectl-sts_drain'), `#!/bin/sh\nexec "${process.execPath}" "${main}" "$@"\n`, { mode: 0o755 });
  const viaKubectl = (await promisify(execFile)('kubectl', ['sts-drain', 'why', 'db', `--kubeconfig=${c.kubeconfig}`, '-n', ns],
    { env: { ...process.env, PATH: `${plugins}:${process.env.PATH}` } })).stdout;
  expect(viaKubectl.trim()).toBe(explained.trim());
  const metrics = await controller.metrics();
  expect(metrics).toMatch(/^sdc_drains_started_total 1$/m);
  expect(metrics).toMatch(/^sdc_orphaned_claims 1$/m);
  expect(metrics).toMatch(/^sdc_api_requests_total\{verb="create",resource="pods",code="200"\} 2$/m);
  // Counts only: no namespace, object name or template text is exposed.
  for (const secretish of [ns, 'data-db-1', 'db-1', 'busybox']) expect(metrics).not.toContain(secretish);
});

test('status and why say first when no controller is running, and that nothing happens until one does', async () => {
  const { c, ns } = ctx;
  const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.ts');
  const cli = async (...args: string[]) =>
    (await promisify(execFile)(process.execPath, [main, ...args, `--kubeconfig=${c.kubeconfig}`, '-n', ns])).stdout;
  await createReadySet(c, ns, { name: 'db', replicas: 2 });
  await scale(c, ns, 'db', 1);
  await eventually('replica db-1 gone', async () => !(await podNames(c, ns)).includes('db-1'));
  // Never started here: no lease, and the orphan waits.
  expect((await cli('status')).split('\n')[0]).toBe(`no controller is running: there is no lease ` +
    `statefulset-drain-controller/statefulset-drain-controller or ${ns}/statefulset-drain-controller ` +
    '(a controller renews one; if it runs elsewhere, say where with --leader-election-namespace and --leader-election-id)');
  expect(await cli('status')).toMatch(/\s1\s+data-db-1\s.*; nothing happens until a controller runs$/m);
  const json = JSON.parse(await cli('status', '-o', 'json')) as { controller: { running: boolean };
    statefulsets: Array<{ ordinals: Array<{ why: string }> }> };
  expect(json.controller.running).toBe(false);
  expect(json.statefulsets[0]!.ordinals[0]!.why).toMatch(/; nothing happens until a controller runs$/);
  const explained = (await cli('why', 'db')).trim().split('\n');
  expect(explained[0]).toMatch(/^no controller is running: there is no lease/);
  expect(explained[1]).toMatch(new RegExp(`^${ns}/db ordinal 1 \\(data-db-1\\): .*; nothing happens until a controller runs\\.$`));
  // Once one runs, status names it; why says nothing about it.
  const controller = await ctx.start();
  await eventually('the claim released', async () => !(await claimNames(c, ns)).includes('data-db-1'));
  expect((await cli('status')).split('\n')[0])
    .toMatch(new RegExp(`^controller \\S+ is running \\(lease ${ns}/statefulset-drain-controller renewed \\d+s ago\\)$`));
  expect((await cli('why', 'db')).trim()).toBe(`${ns}/db: nothing to drain; every claim belongs to a replica in range.`);
  // Killed (no hand-back): after its lease duration (4 s here), nobody runs any more.
  await controller.stop('SIGKILL');
  await eventually('status says the lease lapsed',
    async () => /^no controller is running: the lease .* was last renewed \d+s ago by \S+, longer ago than its 4s$/
    .test((await cli('status')).split('\n')[0]!), 30_000);
});

test('--selector shards the work: a controller serves only the StatefulSets its label selector matches', async () => {
  const { c, ns } = ctx;
  await ctx.start(['--selector=drain-shard=a']);
  await createReadySet(c, ns, { name: 'mine', replicas: 2 });
  await createReadySet(c, ns, { name: 'theirs', replicas: 2 });
  await c.kubectl(['-n', ns, 'label', 'statefulset', 'mine', 'drain-shard=a']);
  await c.kubectl(['-n', ns, 'label', 'statefulset', 'theirs', 'drain-shard=b']);
  await scale(c, ns, 'mine', 1);
  await scale(c, ns, 'theirs', 1);
  await eventually('pod theirs-1 gone', async () => !(await podNames(c, ns)).includes('theirs-1'));
  await eventually('mine drained', async () => !(await claimNames(c, ns)).includes('data-mine-1'));
  // Both orphans appeared together; by the time mine's drain ran and released, a controller serving theirs
  // would have created its drain pod at once: the audit log shows it did not.
  const ourWrites = readAudit(sharedControlPlane().auditLog).filter((e) => e.namespace === ns && controllerReplica(e) !== undefined);
  expect(ourWrites.filter((e) => e.resource === 'pods' && e.verb === 'create').map((e) => e.name)).toContain('mine-1');
  expect(ourWrites.filter((e) => e.name?.startsWith('theirs'))).toEqual([]);
  expect(await claimNames(c, ns)).toContain('data-theirs-1');
  expect(await eventReasons(c, ns, 'theirs')).toEqual([]);
});
