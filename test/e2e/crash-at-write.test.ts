// A crash at every write a drain makes (and at the finalizer's removal from a deleted set): the controller is
// killed the moment each write reaches the API server, before it hears the
// answer, and a new one takes over. The drain still completes exactly once
// (one release of the claim, after a drain pod the controller provably made for it succeeded), nothing is
// deleted early and no drain pod is left behind.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readAudit, type AuditEvent } from '../../local-cluster/audit.ts';
import { claimNames, eventReasons, eventually, podNames } from '../../local-cluster/cluster-client.ts';
import { FaultProxy, type ProxiedRequest } from '../../local-cluster/fault-proxy.ts';
import { createReadySet, scale, simulatedDrain } from '../../local-cluster/workloads.ts';
import { DRAIN_POD_ANNOTATION, DRAINED_ANNOTATION, FINALIZER, KEEP_VOLUME_ANNOTATION, KEPT_CLAIM_UID_ANNOTATION, KEPT_VOLUME_LABEL,
  ORPHANED_SINCE_ANNOTATION, ROLE_DRAINER, ROLE_LABEL, ROLE_PLACEHOLDER } from '../../src/planner/keys.ts';
import { checkInvariants } from '../faults/invariants.ts';
import { sharedControlPlane } from '../jest/shared-control-plane.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('crash');
let proxy: FaultProxy;

beforeEach(async () => {
  proxy = await FaultProxy.start(ctx.c.kubeconfig, mkdtempSync(path.join(os.tmpdir(), 'sdc-proxy-')));
});
afterEach(async () => {
  await proxy.stop();
});

/** Kills the first controller the moment the first request `match` accepts reaches the API server; resolves then. */
function crashOn(match: (r: ProxiedRequest) => boolean): Promise<void> {
  return new Promise((resolve) => {
    proxy.rules = [{
      match, fault: { kind: 'drop-answer' }, times: 1,
      onMatch: async () => {
        await ctx.controllers[0]!.stop('SIGKILL');
        resolve();
      },
    }];
  });
}

/** The n-th request that `match` accepts (counting from 1). */
function nth(n: number, match: (r: ProxiedRequest) => boolean): (r: ProxiedRequest) => boolean {
  let seen = 0;
  return (r) => match(r) && ++seen === n;
}

const claimPatch = (annotation: string) => (r: ProxiedRequest) => r.method === 'PATCH' &&
  r.path.endsWith('/persistentvolumeclaims/data-db-1') && r.body.includes(annotation);

interface WritePoint {
  write: string;
  match: (r: ProxiedRequest) => boolean;
  flags?: string[];
  /** Drain pods the controller creates for ordinal 1 in all. */
  drainPods: number;
}

const points: WritePoint[] = [
  { write: 'the finalizer on the set', match: (r) => r.method === 'PATCH' && r.path.endsWith('/statefulsets/db') &&
    r.body.includes(FINALIZER), drainPods: 1 },
  { write: 'the orphaned-since mark on the claim (a drain delay)', match: claimPatch(ORPHANED_SINCE_ANNOTATION),
    flags: ['--drain-delay=2s'], drainPods: 1 },
  // The pod is not yet proven ours (its UID is not on the claim): it releases nothing, and is replaced once
  // it has finished. The drain container runs twice; the claim is released once.
  { write: 'the drain pod', match: (r) => r.method === 'POST' && r.path.endsWith('/pods') && !r.query.has('dryRun'), drainPods: 2 },
  { write: 'the drain pod\'s UID on the claim', match: claimPatch(DRAIN_POD_ANNOTATION), drainPods: 1 },
  { write: 'the drain\'s success on the claim', match: claimPatch(DRAINED_ANNOTATION), drainPods: 1 },
  { write: 'the drain pod delete', match: nth(1, (r) => r.method === 'DELETE' && r.path.endsWith('/pods/db-1')), drainPods: 1 },
  { write: 'the placeholder', match: (r) => r.method === 'POST' && r.path.endsWith('/pods') &&
    r.body.includes(ROLE_PLACEHOLDER), drainPods: 1 },
  { write: 'the claim delete', match: (r) => r.method === 'DELETE' && r.path.endsWith('/persistentvolumeclaims/data-db-1'), drainPods: 1 },
  { write: 'the placeholder delete', match: nth(2, (r) => r.method === 'DELETE' && r.path.endsWith('/pods/db-1')), drainPods: 1 },
];

const created = (ours: AuditEvent[], role: string) => ours.filter((e) => e.verb === 'create' && e.resource === 'pods' &&
  e.requestObject?.metadata?.labels?.[ROLE_LABEL] === role);

test.each(points)('killed right after writing $write: the drain completes once, nothing early, nothing left behind', async (point) => {
  const { c, ns } = ctx;
  const flags = [`--kubeconfig=${proxy.kubeconfig}`, ...(point.flags ?? [])];
  const crash = crashOn(point.match);
  await ctx.start(flags);
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: simulatedDrain({ after: '1s' }) });
  await scale(c, ns, 'db', 1);
  await crash;
  expect(proxy.injected).toEqual({ 'drop-answer': 1 });
  await ctx.start(flags);
  await eventually('claim of ordinal 1 released', async () => !(await claimNames(c, ns)).includes('data-db-1'), 60_000);
  await eventually('drain pod gone', async () => !(await podNames(c, ns)).includes('db-1'), 30_000);
  expect(await claimNames(c, ns)).toEqual(['data-db-0']);
  // Events are reported after their write succeeded, so a crash in between loses that one event (at most once):
  // the user still reads that the claim was released, from ClaimReleased or DrainCompleted.
  expect(await eventReasons(c, ns, 'db')).toEqual(expect.arrayContaining([expect.stringMatching(/^(ClaimReleased|DrainCompleted)$/)]));

  const audit = readAudit(sharedControlPlane('kwok').auditLog).filter((e) => e.namespace === ns);
  const ours = audit.filter((e) => e.userAgent.startsWith('statefulset-drain-controller/') && e.code >= 200 && e.code < 300);
  expect(ours.filter((e) => e.verb === 'delete' && e.resource === 'persistentvolumeclaims').map((e) => e.name)).toEqual(['data-db-1']);
  expect(created(ours, ROLE_DRAINER).map((e) => e.name)).toEqual(Array(point.drainPods).fill('db-1'));
  // A crash right after creating the placeholder may leave the next one to find it, or to make another once it is seen gone.
  expect(created(ours, ROLE_PLACEHOLDER).length).toBeGreaterThanOrEqual(1);
  expect(checkInvariants(audit, [], { leaderGapMs: 1000, claimTemplates: ['data'], namespace: ns })).toEqual([]);
});

test('killed right after removing the finalizer of a set deleted mid-drain: the set goes, the drain completed once', async () => {
  const { c, ns } = ctx;
  const flags = [`--kubeconfig=${proxy.kubeconfig}`];
  const crash = crashOn((r) => r.method === 'PATCH' && r.path.endsWith('/statefulsets/db') && r.body.includes('finalizers') &&
    !r.body.includes(FINALIZER));
  await ctx.start(flags);
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: simulatedDrain({ after: '3s' }) });
  await scale(c, ns, 'db', 1);
  await eventually('drain pod created', async () =>
    (await c.core.listNamespacedPod({ namespace: ns, labelSelector: ROLE_LABEL })).items.some((p) => p.metadata?.name === 'db-1'));
  await c.kubectl(['-n', ns, 'delete', 'statefulset', 'db', '--wait=false']);
  await crash;
  await ctx.start(flags);
  await eventually('set gone', async () => c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' })
    .then(() => false, () => true), 60_000);
  expect(await claimNames(c, ns)).toEqual(['data-db-0']);
  const audit = readAudit(sharedControlPlane('kwok').auditLog).filter((e) => e.namespace === ns);
  const ours = audit.filter((e) => e.userAgent.startsWith('statefulset-drain-controller/') && e.code >= 200 && e.code < 300);
  expect(ours.filter((e) => e.verb === 'delete' && e.resource === 'persistentvolumeclaims').map((e) => e.name)).toEqual(['data-db-1']);
  expect(created(ours, ROLE_DRAINER).map((e) => e.name)).toEqual(['db-1']);
  expect(checkInvariants(audit, [], { leaderGapMs: 1000, claimTemplates: ['data'], namespace: ns })).toEqual([]);
});

const volumePatch = (includes: string) => (r: ProxiedRequest) => r.method === 'PATCH' && r.path.includes('/persistentvolumes/') &&
  r.body.includes(includes);

test.each([
  { write: 'the keep on the volume (Retain and its marks)', keep: '1h', match: volumePatch(KEPT_CLAIM_UID_ANNOTATION) },
  { write: 'the end of the keep (the policy put back)', keep: '3s', match: volumePatch('"persistentVolumeReclaimPolicy":"Delete"') },
])('a kept set, killed right after writing $write: the claim released once, the volume kept while its keep lasts', async (point) => {
  const { c, ns } = ctx;
  const flags = [`--kubeconfig=${proxy.kubeconfig}`];
  const crash = crashOn(point.match);
  await ctx.start(flags);
  await createReadySet(c, ns, { name: 'db', replicas: 2, template: simulatedDrain({ after: '1s' }),
    annotations: { [KEEP_VOLUME_ANNOTATION]: point.keep } });
  const claim = await c.core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'data-db-1' });
  const volume = claim.spec!.volumeName!;
  await scale(c, ns, 'db', 1);
  await crash;
  await ctx.start(flags);
  await eventually('claim of ordinal 1 released', async () => !(await claimNames(c, ns)).includes('data-db-1'), 60_000);
  const audit = readAudit(sharedControlPlane('kwok').auditLog);
  const ours = audit.filter((e) => e.userAgent.startsWith('statefulset-drain-controller/') && e.code >= 200 && e.code < 300);
  expect(ours.filter((e) => e.namespace === ns && e.verb === 'delete' && e.resource === 'persistentvolumeclaims').map((e) => e.name))
    .toEqual(['data-db-1']);
  if (point.keep === '1h') {
    const kept = await c.core.readPersistentVolume({ name: volume });
    expect([kept.spec?.persistentVolumeReclaimPolicy, kept.metadata?.labels?.[KEPT_VOLUME_LABEL],
      kept.metadata?.annotations?.[KEPT_CLAIM_UID_ANNOTATION]]).toEqual(['Retain', 'true', claim.metadata!.uid]);
  } else {
    await eventually('the volume reclaimed by its provisioner', async () => c.core.readPersistentVolume({ name: volume })
      .then(() => false, () => true), 60_000);
  }
  // The keep was written before the claim delete, and never written twice.
  const keeps = ours.filter((e) => e.verb === 'patch' && e.resource === 'persistentvolumes' && e.name === volume);
  expect(keeps.length).toBe(point.keep === '1h' ? 1 : 2);
  const deleted = ours.find((e) => e.namespace === ns && e.verb === 'delete' && e.resource === 'persistentvolumeclaims')!;
  expect(keeps[0]!.time).toBeLessThanOrEqual(deleted.time);
});
