// The controller behind a fault-injecting proxy: the failures real API servers produce under load or on a bad
// network. Nothing is lost, nothing is deleted early, every drain finishes.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { claimNames, eventually, podNames } from '../../local-cluster/cluster-client.ts';
import { FaultProxy } from '../../local-cluster/fault-proxy.ts';
import { createReadySet, scale, simulatedDrain } from '../../local-cluster/workloads.ts';
import { ROLE_LABEL } from '../../src/planner/keys.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('apifault');
let proxy: FaultProxy;

beforeEach(async () => {
  proxy = await FaultProxy.start(ctx.c.kubeconfig, mkdtempSync(path.join(os.tmpdir(), 'sdc-proxy-')));
});
afterEach(async () => {
  await proxy.stop();
});

const claimDelete = (req: { method: string; path: string }) => req.method === 'DELETE' && req.path.includes('/persistentvolumeclaims/');
const drainCreate = (req: { method: string; path: string; query: URLSearchParams }) => req.method === 'POST' &&
  req.path.endsWith('/pods') && !req.query.has('dryRun');

test('429 with Retry-After and 503 are retried where the request was made, not failed up to the reconcile', async () => {
  const { c, ns } = ctx;
  proxy.rules = [
    { match: drainCreate, fault: { kind: 'status', code: 429, retryAfterSeconds: 1 }, times: 1 },
    { match: claimDelete, fault: { kind: 'status', code: 429, retryAfterSeconds: 1 }, times: 1 },
    { match: claimDelete, fault: { kind: 'status', code: 503 }, times: 1 },
  ];
  const controller = await ctx.start([`--kubeconfig=${proxy.kubeconfig}`]);
  await createReadySet(c, ns, { name: 'db', replicas: 2 });
  await scale(c, ns, 'db', 1);
  await eventually('claim of ordinal 1 released', async () => !(await claimNames(c, ns)).includes('data-db-1'));
  await eventually('drain pod gone', async () => !(await podNames(c, ns)).includes('db-1'));
  expect(proxy.injected).toEqual({ 429: 2, 503: 1 });
  const metrics = await controller.metrics();
  expect(metrics).toMatch(/^sdc_reconcile_errors_total 0$/m);
  expect(metrics).toMatch(/^sdc_api_retries_total\{verb="create",resource="pods",code="429"\} 1$/m);
  expect(metrics).toMatch(/^sdc_api_retries_total\{verb="delete",resource="persistentvolumeclaims",code="429"\} 1$/m);
  expect(metrics).toMatch(/^sdc_api_retries_total\{verb="delete",resource="persistentvolumeclaims",code="503"\} 1$/m);
  expect(await claimNames(c, ns)).toEqual(['data-db-0']);
});

test('a watch that goes silent without closing is noticed and resumed: the scale-down it would have hidden is drained', async () => {
  const { c, ns } = ctx;
  await ctx.start([`--kubeconfig=${proxy.kubeconfig}`, '--watch-idle-timeout=3s']);
  await createReadySet(c, ns, { name: 'db', replicas: 2 });
  // Every pod watch the controller has open goes quiet, as behind a dead load balancer or a half-open connection.
  expect(proxy.silenceOpenWatches((p) => p.endsWith('/pods'))).toBeGreaterThan(0);
  await scale(c, ns, 'db', 1);
  await eventually('claim of ordinal 1 released', async () => !(await claimNames(c, ns)).includes('data-db-1'), 60_000);
  expect(await claimNames(c, ns)).toEqual(['data-db-0']);
});

test('connection resets and added latency on every kind of request: the drain still finishes, once', async () => {
  const { c, ns } = ctx;
  let n = 0;
  proxy.randomFaults = { rate: 0.3, faults: [{ kind: 'reset' }, { kind: 'delay', ms: 300 }, { kind: 'status', code: 500 }],
    random: () => ((n = (n * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) };
  const controller = await ctx.start([`--kubeconfig=${proxy.kubeconfig}`], { waitReady: false });
  await createReadySet(c, ns, { name: 'db', replicas: 3, policy: 'Parallel' });
  await scale(c, ns, 'db', 1);
  await eventually('claims of ordinals 1 and 2 released', async () => (await claimNames(c, ns)).join() === 'data-db-0', 120_000);
  proxy.randomFaults = undefined;
  expect((proxy.injected.reset ?? 0) + (proxy.injected[500] ?? 0)).toBeGreaterThan(0);
  expect((await controller.metrics()).match(/^sdc_drains_started_total (\d+)$/m)?.[1]).toBe('2');
});

test('a scale-up the controller has not heard of yet (its set watch silent) keeps the claim: the set is read afresh before ' +
    'a release', async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start([`--kubeconfig=${proxy.kubeconfig}`, '--watch-idle-timeout=60s']);
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: simulatedDrain({ after: '4s' }) });
  await scale(c, ns, 'db', 1);
  const drainPhase = async () => (await c.core.listNamespacedPod({ namespace: ns, labelSelector: ROLE_LABEL })).items.find((p) =>
    p.metadata?.name === 'db-1')?.status?.phase;
  await eventually('drain pod running', async () => (await drainPhase()) === 'Running');
  const claim = await c.core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'data-db-1' });
  expect(proxy.silenceOpenWatches((p) => p.endsWith('/statefulsets'))).toBeGreaterThan(0);
  await scale(c, ns, 'db', 2);
  await eventually('drain pod Succeeded', async () => (await drainPhase()) === 'Succeeded');
  await eventually('the controller declined the release',
    async () => controller.entries().some((e) => /grew back over ordinal 1/.test(String(e.message))), 30_000);
  const after = await c.core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'data-db-1' });
  expect(after.metadata?.uid).toBe(claim.metadata?.uid);
  expect(after.metadata?.deletionTimestamp).toBeUndefined();
  expect((await controller.metrics()).match(/^sdc_claims_released_total (\d+)$/m)?.[1]).toBe('0');
});
