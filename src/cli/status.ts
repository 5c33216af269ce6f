// `statefulset-drain-controller status`: what the controller sees for each managed StatefulSet, computed by
// the same planner from one list of sets, claims and pods (read-only; nothing is changed).
import { KubeApi, statusOf } from '../kube/api.ts';
import { planKeptVolumes, type KeptVolumeStatus } from '../planner/kept-volumes.ts';
import { KEPT_VOLUME_LABEL } from '../planner/keys.ts';
import { ordinalStem, candidateSetNamesOfClaim } from '../planner/identity.ts';
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { observeSet, type ClusterReader } from '../controller/observe.ts';
import { isManaged, planSet } from '../planner/plan.ts';
import { TEMPLATE_ANNOTATION } from '../planner/keys.ts';
import type { OrdinalStatus, PlannerSettings } from '../planner/types.ts';
import { plannerSettings, type PlannerOptions } from './options.ts';
import { formatDuration } from '../planner/duration.ts';
import { loadConnectionConfig } from '../kube/connection-config.ts';
import { KubeHttpClient } from '../kube/http-client.ts';
import { version } from './version.ts';
import { CONTROLLER_NAME } from '../names.ts';
import { findLease, INSTALL_NAMESPACE, NOTHING_HAPPENS, presenceOf, type ControllerPresence } from './controller-presence.ts';

interface SetStatus {
  statefulset: string;
  template: 'valid' | 'invalid';
  problems: string[];
  ordinals: Array<OrdinalStatus & { age?: string }>;
}

function age(since: Date | undefined, now: number): string | undefined {
  return since ? formatDuration(now - new Date(since).getTime()) : undefined;
}

/** Groups objects under every `namespace/set` key their name could belong to. */
function bySetKey<T extends { metadata?: { name?: string; namespace?: string } }>(items: T[],
    setNames: (name: string) => string[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    for (const name of setNames(item.metadata?.name ?? '')) {
      const key = `${item.metadata?.namespace}/${name}`;
      const group = groups.get(key);
      if (group) group.push(item);
      else groups.set(key, [item]);
    }
  }
  return groups;
}

/** One list of each kind, read as the controller reads its cache. */
class ListedCluster implements ClusterReader {
  private readonly sets: Map<string, V1StatefulSet>;
  private readonly claims: Map<string, V1PersistentVolumeClaim[]>;
  private readonly pods: Map<string, V1Pod[]>;

  constructor(sets: V1StatefulSet[], claims: V1PersistentVolumeClaim[], pods: V1Pod[]) {
    this.sets = new Map(sets.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s]));
    this.claims = bySetKey(claims, candidateSetNamesOfClaim);
    this.pods = bySetKey(pods, (name) => [ordinalStem(name) ?? []].flat());
  }

  getSet(key: string): V1StatefulSet | undefined {
    return this.sets.get(key);
  }

  claimsFor(key: string): V1PersistentVolumeClaim[] {
    return this.claims.get(key) ?? [];
  }

  podsFor(key: string): V1Pod[] {
    return this.pods.get(key) ?? [];
  }
}

/**
 * The plan of every managed set, made by the same observation and planner as the controller's, with the
 * same planner settings. `status` only reads, so it does not ask the API server about templates (the
 * controller's dry-run): a template that parses is shown as valid here.
 */
export async function collectStatus(api: KubeApi, settings: PlannerSettings, namespace?: string): Promise<SetStatus[]> {
  const [sets, claims, pods] = await Promise.all([api.listStatefulSets(namespace), api.listClaims(namespace), api.listPods(namespace)]);
  const now = new Date();
  const cluster = new ListedCluster(sets.items, claims.items, pods.items);
  const podByName = new Map(pods.items.map((p) => [`${p.metadata?.namespace}/${p.metadata?.name}`, p]));
  const result: SetStatus[] = [];
  for (const set of sets.items) {
    if (!isManaged(set)) continue;
    const key = (name: string) => `${set.metadata?.namespace}/${name}`;
    const setKey = key(set.metadata?.name ?? '');
    // `status` cannot know the controller's verdict on the template: unchecked, as if found at start-up (so a
    // set with our finalizer, accepted before, shows its drains; one without shows the check).
    const observation = observeSet(cluster, setKey, set,
      { state: 'unchecked', atStartup: set.metadata?.annotations?.[TEMPLATE_ANNOTATION] }, now);
    const plan = planSet(observation, settings);
    result.push({
      statefulset: setKey,
      template: plan.invalidTemplate ? 'invalid' : 'valid',
      problems: observation.template.ok ? [] : observation.template.problems,
      ordinals: plan.ordinals.sort((a, b) => b.ordinal - a.ordinal).map((o) => ({
        ...o,
        age: o.drainPod ? age(podByName.get(key(o.drainPod.name))?.metadata?.creationTimestamp, now.getTime()) : undefined,
      })),
    });
  }
  return result;
}

export type StatusOptions = PlannerOptions & {
  kubeconfig?: string; context?: string; namespace?: string; allNamespaces?: boolean; output: string; watch?: boolean;
  leaderElectionNamespace?: string; leaderElectionId: string;
};

/** The view `status` and `why` print: whether a controller runs, and what each set's ordinals are doing. */
interface StatusView {
  controller: ControllerPresence;
  statefulsets: SetStatus[];
  /** Volumes kept after their claims were released (drainer-keep-volume); undefined when volumes may not be listed. */
  keptVolumes?: KeptVolumeStatus[];
}

/** The kept volumes of claims in `namespace` (all when undefined), judged as the controller judges them. */
async function collectKeptVolumes(api: KubeApi, namespace: string | undefined): Promise<KeptVolumeStatus[] | undefined> {
  let volumes;
  try {
    volumes = (await api.listVolumes({ labelSelector: `${KEPT_VOLUME_LABEL}=true` })).items;
  } catch (err) {
    // Volumes are cluster-scoped: many users may not list them, and need not to see the drains.
    if (statusOf(err) === 403) return undefined;
    throw err;
  }
  const sets = new Map((await api.listStatefulSets(namespace)).items.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s]));
  return planKeptVolumes(volumes, (ns, name) => sets.get(`${ns}/${name}`), new Date()).volumes
    .filter((v) => namespace === undefined || v.kept?.namespace === namespace);
}

async function collectView(api: KubeApi, options: StatusOptions, namespace: string | undefined): Promise<StatusView> {
  const leaseNamespaces = options.leaderElectionNamespace ? [options.leaderElectionNamespace]
    : [INSTALL_NAMESPACE, ...(namespace ? [namespace] : [])];
  const [lease, statefulsets, keptVolumes] = await Promise.all([
    findLease(api, leaseNamespaces, options.leaderElectionId), collectStatus(api, plannerSettings(options), namespace),
    collectKeptVolumes(api, namespace)]);
  const controller = presenceOf(lease, Date.now());
  if (controller.running === false) for (const set of statefulsets) for (const o of set.ordinals) o.why = `${o.why}; ${NOTHING_HAPPENS}`;
  return { controller, statefulsets, ...(keptVolumes ? { keptVolumes } : {}) };
}

export async function status(options: StatusOptions): Promise<void> {
  const connection = loadConnectionConfig({ kubeconfig: options.kubeconfig, context: options.context });
  const api = new KubeApi(new KubeHttpClient(connection, `${CONTROLLER_NAME}/${version} (status)`), { qps: 0, burst: 1 });
  // As kubectl: -n, else the context's namespace; -A for all.
  const namespace = options.allNamespaces ? undefined : options.namespace ?? connection.namespace;
  const print = (view: StatusView, indent?: number) => console.log(options.output === 'json'
    ? JSON.stringify(view, null, indent) : table(view));
  if (!options.watch) {
    print(await collectView(api, options, namespace), 2);
    return;
  }
  // --watch: look again every 2 s, and print the view whenever what it says changes (ages aside), stamped.
  let last = '';
  for (;;) {
    const view = await collectView(api, options, namespace);
    const key = JSON.stringify([view.controller.running, view.controller.holder,
      view.statefulsets.map((s) => ({ ...s, ordinals: s.ordinals.map((o) => ({ ...o, age: undefined })) }))]);
    if (key !== last) {
      last = key;
      console.log(`--- ${new Date().toISOString()}`);
      print(view);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function table({ controller, statefulsets: sets, keptVolumes }: StatusView): string {
  const lines: string[] = [controller.summary];
  const rows = [['STATEFULSET', 'ORDINAL', 'CLAIMS', 'DRAIN POD', 'PHASE', 'AGE', 'FAILURES', 'STATE', 'REASON']];
  for (const set of sets) {
    if (set.ordinals.length === 0)
      rows.push([set.statefulset, '-', '-', '-', '-', '-', '-', set.template === 'valid' ? 'nothing to drain' : 'template invalid', '-']);
    for (const o of set.ordinals) {
      rows.push([set.statefulset, String(o.ordinal), o.claims.join(','), o.drainPod?.name ?? '-', o.drainPod?.phase ?? '-', o.age ?? '-',
        String(o.failures), o.state, o.why]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) lines.push(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  for (const set of sets) for (const p of set.problems) lines.push(`\n${set.statefulset}: ${p}`);
  if (keptVolumes?.length) {
    const kept = [['KEPT VOLUME', 'CLAIM', 'STATEFULSET', 'ORDINAL', 'KEPT UNTIL', 'STATE', 'REASON'],
      ...keptVolumes.map((v) => [v.volume, v.kept ? `${v.kept.namespace}/${v.kept.claim}` : '-', v.kept?.statefulset ?? '-',
        v.kept ? String(v.kept.ordinal) : '-', v.until ?? v.kept?.until ?? '-', v.state, v.why])];
    const keptWidths = kept[0]!.map((_, i) => Math.max(...kept.map((r) => r[i]!.length)));
    lines.push('', ...kept.map((row) => row.map((cell, i) => cell.padEnd(keptWidths[i]!)).join('  ').trimEnd()));
  }
  return lines.join('\n');
}

/** `why <statefulset> [ordinal]`: each orphaned ordinal of one set, in a sentence, with the next step. */
export async function why(options: StatusOptions, setName: string, ordinal?: string): Promise<void> {
  const connection = loadConnectionConfig({ kubeconfig: options.kubeconfig, context: options.context });
  const api = new KubeApi(new KubeHttpClient(connection, `${CONTROLLER_NAME}/${version} (why)`), { qps: 0, burst: 1 });
  const namespace = options.namespace ?? connection.namespace ?? 'default';
  const view = await collectView(api, options, namespace);
  // A running controller goes without saying; its absence is the first thing to know.
  if (view.controller.running !== true) console.log(view.controller.summary);
  const set = view.statefulsets.find((s) => s.statefulset === `${namespace}/${setName}`);
  if (!set) {
    console.log(`${namespace}/${setName} is not a managed StatefulSet (no such set, no drainer template, or no volumeClaimTemplates).`);
    return;
  }
  for (const problem of set.problems) console.log(`${set.statefulset}: the drainer template is invalid: ${problem}`);
  const ordinals = set.ordinals.filter((o) => ordinal === undefined || String(o.ordinal) === ordinal);
  if (ordinals.length === 0) {
    console.log(`${set.statefulset}${ordinal === undefined ? '' : ` ordinal ${ordinal}`}: nothing to drain; every claim belongs ` +
      `to a replica in range.`);
  }
  for (const o of ordinals) console.log(`${set.statefulset} ordinal ${o.ordinal} (${o.claims.join(', ')}): ${o.state}: ${o.why}.`);
  for (const v of view.keptVolumes ?? []) {
    if (v.kept?.statefulset !== setName || (ordinal !== undefined && String(v.kept.ordinal) !== ordinal)) continue;
    console.log(`${set.statefulset} ordinal ${v.kept.ordinal}: volume ${v.volume} of released claim ${v.kept.claim}: ${v.state}: ${v.why}` +
      (v.state === 'kept' ? `; \`restore ${setName} ${v.kept.ordinal}\` binds it to a new claim.` : '.'));
  }
}
