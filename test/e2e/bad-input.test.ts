// The bad-input suite: hostile or malformed drainer templates and StatefulSet shapes, all in one
// namespace with a healthy set beside them. Each gets its documented reaction (a Warning event with a
// reason a user understands, or being ignored), nothing is created or deleted for it, and the healthy set
// is drained in the same run.
import type { V1StatefulSet } from '@kubernetes/client-node';
import { claimNames, eventNotes, eventReasons, eventually, podNames } from '../../local-cluster/cluster-client.ts';
import { createReadySet, scale, simulatedDrain, statefulSet } from '../../local-cluster/workloads.ts';
import { controllerReplica, readAudit } from '../../local-cluster/audit.ts';
import { sharedControlPlane } from '../jest/shared-control-plane.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('hostile');
const DRAINERS = 'drain.statefulsets.kubernetes.io/role=drainer';
const ok = simulatedDrain();
const container = ok.spec.containers[0]!;
const withSpec = (spec: Record<string, unknown>) => ({ metadata: ok.metadata, spec: { containers: [container], ...spec } });
const withMeta = (meta: Record<string, unknown>) => ({ metadata: { ...ok.metadata, ...meta }, spec: ok.spec });
const withContainer = (fields: Record<string, unknown>) => ({ metadata: ok.metadata, spec: { containers: [{ ...container, ...fields }] } });

interface Case {
  name: string;
  template?: unknown;
  /** Changes to the StatefulSet itself. */
  shape?: (set: V1StatefulSet) => void;
  /** The Warning reason expected, or null when the documented reaction is to ignore the set. */
  reason: string | null;
  note?: RegExp;
}

const cases: Case[] = [
  { name: 'json-truncated', template: '{"spec": {"containers": [', reason: 'InvalidDrainerTemplate', note: /neither valid JSON nor YAML/ },
  { name: 'json-array', template: '[{"spec": {}}]', reason: 'InvalidDrainerTemplate', note: /must be a JSON object/ },
  { name: 'json-string', template: '"a pod please"', reason: 'InvalidDrainerTemplate', note: /must be a JSON object/ },
  { name: 'json-number', template: '42', reason: 'InvalidDrainerTemplate', note: /must be a JSON object/ },
  { name: 'json-null', template: 'null', reason: 'InvalidDrainerTemplate', note: /must be a JSON object/ },
  { name: 'empty', template: '', reason: 'InvalidDrainerTemplate', note: /must be a JSON object/ },
  { name: 'yaml-alias-bomb', template: 'a: &a ["x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: ' +
    '&c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n',
    reason: 'InvalidDrainerTemplate', note: /neither valid JSON nor YAML|Excessive alias count/ },
  { name: 'huge', template: JSON.stringify({ metadata: { annotations: { filler: 'x'.repeat(200_000) } }, spec: {} }),
    reason: 'InvalidDrainerTemplate', note: /containers/ },
  { name: 'no-spec', template: { metadata: ok.metadata }, reason: 'InvalidDrainerTemplate', note: /required property 'spec'/ },
  { name: 'no-containers', template: { metadata: ok.metadata, spec: { containers: [] } }, reason: 'InvalidDrainerTemplate',
    note: /fewer than 1 items/ },
  { name: 'containers-object', template: { spec: { containers: { name: 'x', image: 'y' } } }, reason: 'InvalidDrainerTemplate',
    note: /containers must be array/ },
  { name: 'no-image', template: { spec: { containers: [{ name: 'x' }] } }, reason: 'InvalidDrainerTemplate',
    note: /required property 'image'/ },
  { name: 'mount-no-path', template: withContainer({ volumeMounts: [{ name: 'data' }] }), reason: 'InvalidDrainerTemplate',
    note: /required property 'mountPath'/ },
  { name: 'volumes-not-list', template: withSpec({ volumes: { name: 'x' } }), reason: 'InvalidDrainerTemplate',
    note: /volumes must be array/ },
  { name: 'claim-name-number', template: withSpec({ volumes: [{ name: 'archive', persistentVolumeClaim: { claimName: 5 } }] }),
    reason: 'InvalidDrainerTemplate', note: /claimName must be string/ },
  { name: 'init-mounts-string', template: withSpec({ initContainers: [{ name: 'init', image: 'busybox', volumeMounts: 'data' }] }),
    reason: 'InvalidDrainerTemplate', note: /initContainers.0.volumeMounts must be array/ },
  { name: 'restart-always', template: withSpec({ restartPolicy: 'Always' }), reason: 'InvalidDrainerTemplate',
    note: /restartPolicy Always is not allowed/ },
  { name: 'restart-bogus', template: withSpec({ restartPolicy: 'Sometimes' }), reason: 'InvalidDrainerTemplate', note: /allowed values/ },
  { name: 'adopted-labels', template: withMeta({ labels: { app: 'adopted-labels' } }), reason: 'InvalidDrainerTemplate',
    note: /would adopt the drain pod/ },
  { name: 'namespace', template: withMeta({ namespace: 'kube-system' }), reason: 'InvalidDrainerTemplate',
    note: /metadata.namespace is not allowed/ },
  { name: 'owner-refs', template: withMeta({ ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'x', uid: 'y' }] }),
    reason: 'InvalidDrainerTemplate', note: /ownerReferences is not allowed/ },
  { name: 'fixed-name', template: withMeta({ name: 'evil' }), reason: 'InvalidDrainerTemplate',
    note: /metadata.name is set by the controller/ },
  { name: 'generate-name', template: withMeta({ generateName: 'evil-' }), reason: 'InvalidDrainerTemplate',
    note: /generateName is not allowed/ },
  { name: 'finalizers', template: withMeta({ finalizers: ['x/y'] }), reason: 'InvalidDrainerTemplate', note: /finalizers is not allowed/ },
  { name: 'label-not-string', template: withMeta({ labels: { n: 1 } }), reason: 'InvalidDrainerTemplate', note: /must be string/ },
  { name: 'top-level-kind', template: { kind: 'Pod', ...ok }, reason: 'InvalidDrainerTemplate', note: /additional properties \(kind\)/ },
  { name: 'bad-container-name', template: withContainer({ name: 'Not_A_DNS_Label' }), reason: 'InvalidDrainerTemplate',
    note: /API server rejects the drain pod/ },
  { name: 'bad-label-key', template: withMeta({ labels: { 'bad key!': 'x' } }), reason: 'InvalidDrainerTemplate',
    note: /API server rejects the drain pod/ },
  { name: 'negative-deadline', template: withSpec({ activeDeadlineSeconds: -5 }), reason: 'InvalidDrainerTemplate',
    note: /API server rejects the drain pod/ },
  { name: 'clashing-volume', template: withSpec({ volumes: [{ name: 'data', hostPath: { path: '/' } }] }), reason: null },
  { name: 'retention-delete', shape: (s) => { s.spec!.persistentVolumeClaimRetentionPolicy = { whenScaled: 'Delete',
    whenDeleted: 'Retain' }; }, reason: 'RetentionConflict', note: /whenScaled is Delete/ },
  { name: 'expressions-only', shape: (s) => { s.spec!.selector = { matchExpressions: [{ key: 'app', operator: 'In',
    values: ['expressions-only'] }] }; }, reason: 'UnprovableClaims', note: /no matchLabels/ },
  { name: 'bad-max-attempts', shape: (s) => { s.metadata!.annotations!['statefulsets.kubernetes.io/drainer-max-attempts'] = 'lots'; },
    reason: 'InvalidMaxAttempts', note: /not a positive integer/ },
  { name: 'bad-delay', shape: (s) => { s.metadata!.annotations!['statefulsets.kubernetes.io/drainer-delay'] = 'a while'; },
    reason: 'InvalidDrainDelay', note: /not a duration between 1s and 168h \(e\.g\. 30m, 2h\); using no delay/ },
  { name: 'bad-inherit', shape: (s) => { s.metadata!.annotations!['statefulsets.kubernetes.io/drainer-inherit-scheduling'] = 'sometimes'; },
    reason: 'InvalidInheritScheduling',
    note: /neither "true" nor "false"; drain pods take the set's scheduling constraints \(the default\)/ },
  { name: 'bad-timeout', shape: (s) => { s.metadata!.annotations!['statefulsets.kubernetes.io/drainer-timeout'] = '-5m'; },
    reason: 'InvalidDrainTimeout', note: /not a duration between 1s and 168h \(e\.g\. 30m, 2h\)/ },
  { name: 'no-claim-templates', shape: (s) => { s.spec!.volumeClaimTemplates = []; }, reason: null },
];

test(`${cases.length} hostile inputs: each reported or ignored as documented, none changes anything, a healthy set is ` +
    `still drained`, async () => {
  const { c, ns } = ctx;
  const controller = await ctx.start();
  // A claim created by hand with a look-alike name (no selector labels): never the controller's to touch.
  await c.core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: {
    metadata: { name: 'data-healthy-7' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  } });
  for (const k of cases) {
    const set = statefulSet({ name: k.name, replicas: 2, template: k.template === undefined ? ok : k.template });
    k.shape?.(set);
    await c.apps.createNamespacedStatefulSet({ namespace: ns, body: set });
  }
  await createReadySet(c, ns, { name: 'healthy', replicas: 2 });
  await eventually('every set Ready', async () => {
    const sets = (await c.apps.listNamespacedStatefulSet({ namespace: ns })).items;
    return sets.every((s) => (s.status?.readyReplicas ?? 0) === 2);
  }, 120_000);
  const claimsBefore = await claimNames(c, ns);
  for (const k of [...cases.map((x) => x.name), 'healthy']) await scale(c, ns, k, 1);
  await eventually('healthy drained', async () => !(await claimNames(c, ns)).includes('data-healthy-1') &&
    (await podNames(c, ns, DRAINERS)).length === 0, 120_000);

  for (const k of cases) {
    if (k.reason === null) continue;
    const notes = await eventually(`${k.name}: ${k.reason}`, async () => {
      const n = await eventNotes(c, ns, k.name, k.reason!);
      return n.length > 0 ? n : undefined;
    });
    expect([k.name, notes.join('\n')]).toEqual([k.name, expect.stringMatching(k.note!)]);
  }
  // Nothing created for any hostile set, and only the healthy set's orphaned claim deleted.
  expect(await podNames(c, ns, DRAINERS)).toEqual([]);
  const lost = claimsBefore.filter((n) => !n.startsWith('data-healthy-1'));
  const after = await claimNames(c, ns);
  // Drained as documented: "clashing-volume" (the claim replaces the template's volume of that name) and
  // "bad-max-attempts" (warned about, then the default is used); retention-delete's claim is removed by
  // Kubernetes itself.
  const expectedGone = ['data-bad-delay-1', 'data-bad-inherit-1', 'data-bad-max-attempts-1', 'data-bad-timeout-1', 'data-clashing-volume-1',
    'data-retention-delete-1'];
  expect(lost.filter((n) => !after.includes(n)).sort()).toEqual(expectedGone);
  expect(after).toContain('data-healthy-7');
  expect(after).toContain('data-expressions-only-1');
  // Ignored sets get no event at all.
  expect(await eventReasons(c, ns, 'no-claim-templates')).toEqual([]);
  // Invariant 5: for a set whose input is refused, the audit log shows no write by the controller but events
  // (no finalizer, no pod, no claim annotation), dry runs aside.
  // (A bad max-attempts or timeout annotation is reported, and the default used: those sets are drained.)
  const refused = cases.filter((k) => k.reason !== null &&
    !['InvalidMaxAttempts', 'InvalidDrainTimeout', 'InvalidDrainDelay', 'InvalidInheritScheduling'].includes(k.reason)).map((k) => k.name);
  const writes = readAudit(sharedControlPlane().auditLog).filter((e) => e.namespace === ns && controllerReplica(e) !== undefined
    && e.resource !== 'events' && e.resource !== 'leases' && e.verb !== 'get' && e.verb !== 'list' && e.verb !== 'watch');
  const touched = (name: string) => writes.filter((e) => e.name === name || e.name?.startsWith(`${name}-`) ||
    e.name?.startsWith(`data-${name}-`));
  expect(refused.flatMap((name) => touched(name).map((e) => `${e.verb} ${e.resource}/${e.name}`))).toEqual([]);
  expect(touched('healthy').length).toBeGreaterThan(0);
  // The controller served everything without crashing or restarting.
  expect(controller.process.exitCode).toBeNull();
}, 300_000);
