// The Helm chart: it lints, renders for both scopes, grants exactly what the kustomize manifests grant, passes
// the controller only flags it has, and ships the same alerts and dashboard as manifests/monitoring.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { addRunOptions } from '../../src/cli/options.ts';
import { HELM_VARIABLE } from '../jest/unit-setup.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const chart = path.join(root, 'charts', 'statefulset-drain-controller');
const helm = (...args: string[]) => execFileSync(process.env[HELM_VARIABLE]!, args,
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: unknown[];
  spec?: { template?: { spec?: { containers?: Array<{ args?: string[] }> } } };
  subjects?: Array<{ namespace?: string }>;
}

const documents = (text: string): Manifest[] => parseAllDocuments(text).map((d) => d.toJS() as Manifest).filter(Boolean);
const render = (...sets: string[]) => documents(helm('template', 'sdc', chart, '--namespace', 'ops', ...sets.flatMap((s) => ['--set', s])));
const kinds = (manifests: Manifest[]) => manifests.map((m) => m.kind).sort();
const rulesOf = (manifests: Manifest[], kind: string, suffix = '') =>
  manifests.find((m) => m.kind === kind && m.metadata.name.endsWith(`controller${suffix}`))?.rules;
const argsOf = (manifests: Manifest[]) => manifests.find((m) => m.kind === 'Deployment')!.spec!.template!.spec!.containers![0]!.args!;
const manifestFile = (file: string) => documents(readFileSync(path.join(root, 'manifests', file), 'utf8'));

describe('the Helm chart', () => {
  it('passes helm lint, with the monitoring objects too', () => {
    expect(() => helm('lint', '--strict', chart)).not.toThrow();
    expect(() => helm('lint', '--strict', chart, '--set',
      'monitoring.prometheusRule.enabled=true,monitoring.dashboard.enabled=true')).not.toThrow();
  });

  it('cluster scope grants what manifests/cluster-wide grants: a ClusterRole bound to the release\'s ServiceAccount', () => {
    const rendered = render();
    expect(kinds(rendered))
      .toEqual(['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Role', 'RoleBinding',
      'Service', 'ServiceAccount']);
    expect(rulesOf(rendered, 'ClusterRole')).toEqual(rulesOf(manifestFile('cluster-wide/cluster-rbac.yaml'), 'ClusterRole'));
    expect(rendered.find((m) => m.kind === 'ClusterRoleBinding')!.subjects)
      .toEqual([{ kind: 'ServiceAccount', name: 'sdc-statefulset-drain-controller', namespace: 'ops' }]);
    expect(rulesOf(rendered, 'Role', '-leader-election'))
      .toEqual(rulesOf(manifestFile('base/leader-election-rbac.yaml'), 'Role', '-leader-election'));
    expect(argsOf(rendered)).not.toContainEqual(expect.stringMatching(/^--namespaces/));
  });

  it('namespace scope grants what manifests/namespaced grants: a Role, no cluster-wide permission, only its own namespace served', () => {
    const rendered = render('scope=namespace');
    expect(kinds(rendered)).not.toContain('ClusterRole');
    expect(rulesOf(rendered, 'Role')).toEqual(rulesOf(manifestFile('namespaced/namespace-rbac.yaml'), 'Role'));
    expect(argsOf(rendered)).toContain('--namespaces=$(POD_NAMESPACE)');
  });

  it('keepVolume.enabled grants what manifests/keep-volume grants, in either scope, and only then; its default is --keep-volume', () => {
    expect(kinds(render()).filter((k) => k === 'ClusterRole')).toHaveLength(1);
    for (const scope of ['cluster', 'namespace']) {
      const rendered = render(`scope=${scope}`, 'keepVolume.enabled=true', 'keepVolume.default=72h', 'keepVolume.max=240h');
      expect(rulesOf(rendered, 'ClusterRole', '-keep-volume')).toEqual(rulesOf(manifestFile('keep-volume/keep-volume-rbac.yaml'),
        'ClusterRole', '-keep-volume'));
      expect(rendered.find((m) => m.kind === 'ClusterRoleBinding' && m.metadata.name.endsWith('-keep-volume'))!.subjects)
        .toEqual([{ kind: 'ServiceAccount', name: 'sdc-statefulset-drain-controller', namespace: 'ops' }]);
      expect(argsOf(rendered)).toEqual(expect.arrayContaining(['--keep-volume=72h', '--max-keep-volume=240h']));
    }
    expect(() => render('keepVolume.default=72h')).toThrow(/keepVolume.default needs keepVolume.enabled=true/);
  });

  it('refuses a scope it does not know', () => {
    expect(() => render('scope=everywhere')).toThrow(/scope must be cluster or namespace, not "everywhere"/);
  });

  it('passes the values as flags the controller has', () => {
    const args = argsOf(render('namespaces={shop,billing}', 'selector=drain-shard=a', 'drains.maxAttempts=5', 'drains.drainDelay=10m',
      'leaderElection.id=sdc-a', 'extraArgs={--qps=50}'));
    expect(args)
      .toEqual(expect.arrayContaining(['--namespaces=shop,billing', '--selector=drain-shard=a', '--max-attempts=5', '--drain-delay=10m',
      '--leader-election-id=sdc-a', '--qps=50']));
    const known = new Set(addRunOptions(new Command()).options.map((o) => o.long!));
    const every = argsOf(render('drains.maxAttempts=5', 'drains.backoffBase=1m', 'drains.backoffMax=1h', 'drains.drainDelay=1m',
      'drains.drainTimeout=1h',
      'drains.pendingDeadline=1h', 'drains.runningDeadline=2h'));
    expect(every.slice(1).map((a) => a.split('=')[0]).filter((flag) => !known.has(flag!))).toEqual([]);
    expect(argsOf(render('leaderElection.enabled=false'))).toContain('--leader-elect=false');
    expect(render('leaderElection.enabled=false').filter((m) => m.metadata.name.endsWith('-leader-election'))).toEqual([]);
  });

  it('ships the alerts and dashboard of manifests/monitoring, unchanged', () => {
    for (const file of ['prometheus-rule.yaml', 'dashboard.json']) {
      expect(readFileSync(path.join(chart, 'files', file), 'utf8'))
        .toBe(readFileSync(path.join(root, 'manifests', 'monitoring', file), 'utf8'));
    }
    const rendered = render('monitoring.prometheusRule.enabled=true', 'monitoring.dashboard.enabled=true',
      'monitoring.serviceMonitor.enabled=true');
    expect(kinds(rendered)).toEqual(expect.arrayContaining(['PrometheusRule', 'ServiceMonitor', 'ConfigMap']));
    const rule = rendered.find((m) => m.kind === 'PrometheusRule') as unknown as { spec: unknown };
    expect(rule.spec).toEqual((manifestFile('monitoring/prometheus-rule.yaml')[0] as unknown as { spec: unknown }).spec);
  });
});
