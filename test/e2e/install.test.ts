// The install manifests: accepted by the API server, and the RBAC they grant is enough and no more.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { claimNames, eventually } from '../../local-cluster/cluster-client.ts';
import { startController } from '../../local-cluster/controller-process.ts';
import { intoNamespace } from '../../local-cluster/install.ts';
import { createNamespace, deleteNamespace } from '../../local-cluster/namespaces.ts';
import { serviceAccountKubeconfig } from '../../local-cluster/service-account-kubeconfig.ts';
import { createReadySet, scale } from '../../local-cluster/workloads.ts';
import { useE2E } from './e2e-context.ts';

const ctx = useE2E('install');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const manifests = (overlay: string) => path.join(root, 'manifests', overlay);

test('every manifest passes a server-side dry-run', async () => {
  const { c } = ctx;
  // Dry-run creates nothing, so the namespace the cluster-wide objects go into must exist already.
  await c.kubectl(['create', 'namespace', 'statefulset-drain-controller']).catch(() => '');
  try {
    const clusterWide = await c.kubectl(['apply', '-k', manifests('cluster-wide'), '--dry-run=server']);
    expect(clusterWide).toMatch(/clusterrole.rbac.authorization.k8s.io\/statefulset-drain-controller created \(server dry run\)/);
    expect(clusterWide).toMatch(/deployment.apps\/statefulset-drain-controller created \(server dry run\)/);
    expect(clusterWide).toMatch(/poddisruptionbudget.policy\/statefulset-drain-controller created \(server dry run\)/);
    const namespaced = await c.kubectl(['apply', '-k', intoNamespace('namespaced', ctx.ns), '--dry-run=server']);
    expect(namespaced).toMatch(/role.rbac.authorization.k8s.io\/statefulset-drain-controller created \(server dry run\)/);
    expect(namespaced).not.toMatch(/clusterrole/);
    await c.kubectl(['apply', '-f', path.join(root, 'local-cluster', 'fixtures', 'prometheus-operator-crds.yaml')]);
    await eventually('the CRDs served', async () => {
      const served = await c.kubectl(['api-resources', '--api-group=monitoring.coreos.com']);
      return served.includes('servicemonitors') && served.includes('prometheusrules');
    });
    const monitoring = await c.kubectl(['apply', '-k', manifests('monitoring'), '--dry-run=server']);
    expect(monitoring).toMatch(/servicemonitor.monitoring.coreos.com\/statefulset-drain-controller created \(server dry run\)/);
    expect(monitoring).toMatch(/prometheusrule.monitoring.coreos.com\/statefulset-drain-controller created \(server dry run\)/);
    expect(monitoring).toMatch(/configmap\/statefulset-drain-controller-dashboard created \(server dry run\)/);
  } finally {
    await c.kubectl(['delete', 'namespace', 'statefulset-drain-controller', '--wait=false']).catch(() => '');
  }
});

test('namespaced install: the controller does its job with the Role alone, and cannot act outside its namespace', async () => {
  const { c, ns } = ctx;
  await c.kubectl(['apply', '-k', intoNamespace('namespaced', ns)]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdc-sa-'));
  const kubeconfig = await serviceAccountKubeconfig(c, ns, 'statefulset-drain-controller', dir);
  const sa = `system:serviceaccount:${ns}:statefulset-drain-controller`;
  expect((await c.kubectl(['auth', 'can-i', 'list', 'pods', '-n', ns, `--as=${sa}`])).trim()).toBe('yes');
  // The Lease Role names its Lease: another Lease of the namespace is out of reach.
  expect((await c.kubectl(['auth', 'can-i', 'update', 'leases/statefulset-drain-controller', '-n', ns, `--as=${sa}`])).trim()).toBe('yes');
  expect((await c.kubectl(['auth', 'can-i', 'update', 'leases/someone-elses', '-n', ns, `--as=${sa}`])
    .catch((e: { stdout?: string }) => e.stdout ?? '')).trim()).toBe('no');

  const controller = await startController(kubeconfig, [`--namespaces=${ns}`, `--leader-election-namespace=${ns}`, '--lease-duration=4s',
    '--renew-deadline=3s', '--retry-period=500ms']);
  ctx.controllers.push(controller);
  await createReadySet(c, ns, { name: 'db', replicas: 2 });
  await scale(c, ns, 'db', 1);
  await eventually('drained under the ServiceAccount identity', async () => !(await claimNames(c, ns)).includes('data-db-1'));
  expect(controller.logs()).not.toMatch(/forbidden/i);
  // The credentials never reach the logs.
  const token = /token: "([^"]+)"/.exec(readFileSync(kubeconfig, 'utf8'))![1]!;
  expect(controller.logs()).not.toContain(token);
  expect(controller.logs()).not.toContain(token.slice(0, 40));

  const other = await createNamespace(c, 'other');
  try {
    for (const verb of ['list', 'create', 'delete']) {
      expect((await c.kubectl(['auth', 'can-i', verb, 'pods', '-n', other, `--as=${sa}`]).catch((e: { stdout?: string }) => e.stdout ?? ''))
        .trim()).toBe('no');
    }
    expect((await c.kubectl(['auth', 'can-i', 'list', 'statefulsets', '--all-namespaces', `--as=${sa}`])
      .catch((e: { stdout?: string }) => e.stdout ?? '')).trim()).toBe('no');
    // Pointed at another namespace, it fails loudly: it stops at start-up with the refusal in one line.
    const outside = await startController(kubeconfig,
      [`--namespaces=${other}`, `--leader-election-namespace=${ns}`, '--leader-election-id=outside'], { waitReady: false });
    ctx.controllers.push(outside);
    await eventually('the controller stopped', async () => outside.process.exitCode !== null, 30_000);
    expect(outside.process.exitCode).toBe(1);
    const refusal = `^statefulset-drain-controller: the API server refuses to list or watch \\S+ in namespace ${other} \\(403\\)`;
    expect(outside.logs()).toMatch(new RegExp(refusal, 'm'));
  } finally {
    await deleteNamespace(c, other);
  }
});

test('a missing permission fails loudly: the release is refused, logged and counted, and the claim is kept', async () => {
  const { c, ns } = ctx;
  await c.kubectl(['apply', '-k', intoNamespace('namespaced', ns)]);
  // The same Role without "delete persistentvolumeclaims".
  const role = JSON.parse(await c.kubectl(['-n', ns, 'get', 'role', 'statefulset-drain-controller', '-o', 'json'])) as
    { rules: Array<{ resources: string[]; verbs: string[] }> };
  for (const rule of role.rules) if (rule.resources.includes('persistentvolumeclaims'))
    rule.verbs = rule.verbs.filter((v) => v !== 'delete');
  await c.kubectl(['-n', ns, 'replace', '-f', '-'], JSON.stringify(role));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdc-sa-'));
  const kubeconfig = await serviceAccountKubeconfig(c, ns, 'statefulset-drain-controller', dir);
  const controller = await startController(kubeconfig, [`--namespaces=${ns}`, `--leader-election-namespace=${ns}`, '--lease-duration=4s',
    '--renew-deadline=3s', '--retry-period=500ms']);
  ctx.controllers.push(controller);
  await createReadySet(c, ns, { name: 'db', replicas: 2 });
  await scale(c, ns, 'db', 1);
  await eventually('refusal logged', async () => controller.entries().some((e) => e.level === 'error' && e.action === 'DeleteClaim' &&
    e.status === 403), 60_000);
  expect(await controller.metrics())
    .toMatch(/^sdc_api_requests_total\{verb="delete",resource="persistentvolumeclaims",code="403"\} [1-9]/m);
  expect(await controller.metrics()).toMatch(/^sdc_reconcile_errors_total [1-9]/m);
  expect(await claimNames(c, ns)).toEqual(['data-db-0', 'data-db-1']);
});
