// One world of a fault batch: its own namespace, its own five StatefulSets and its own seeded scaling, on a
// control plane and controller replicas it shares with the other worlds (and so shares their faults). It
// is checked on its own, from the audit log and the pod timeline, as if it had had the cluster to itself.
import { claimNames, eventReasons, listClaims, type ClusterClient } from '../../local-cluster/cluster-client.ts';
import { waitFor } from '../../local-cluster/processes.ts';
import { createLookAlikeDrainPod, createReadySet, scale, simulatedDrain } from '../../local-cluster/workloads.ts';
import type { AuditEvent } from '../../local-cluster/audit.ts';
import { serviceAccountReplica } from './replicas.ts';
import {
  KEEP_VOLUME_ANNOTATION, KEPT_CLAIM_ANNOTATION, KEPT_CLAIM_UID_ANNOTATION, KEPT_UNTIL_ANNOTATION, KEPT_VOLUME_LABEL, ROLE_DRAINER,
  ROLE_LABEL,
} from '../../src/planner/keys.ts';
import type { PodSighting } from './history.ts';
import { checkInvariants } from './invariants.ts';
import { rng } from './random.ts';

/** epsilon keeps each released claim's volume this long: keeps end (and are reclaimed) while the faults go on. */
const EPSILON_KEEP = '40s';
const EPSILON_KEEP_MS = 40_000;
/** The sets each step scales to a random size. */
const SCALED = ['alpha', 'beta', 'epsilon'];

/** Claims whose ordinal never leaves the range: they must end every run with the UID they had at its start. */
const KEPT = ['data-alpha-0', 'data-beta-0', 'data-gamma-0', 'data-gamma-1', 'data-gamma-2', 'data-epsilon-0'];

export interface WorldOutcome {
  violations: string[];
  /** Writes a scale-up overtook after the quorum read they were decided on (CheckOptions.notice). */
  overtaken: string[];
  drainsCompleted: number;
  claimsReleased: number;
}

/** Retries an API call through API server and etcd restarts. */
export async function retrying(what: string, fn: () => Promise<unknown>): Promise<void> {
  await waitFor(what, async () => {
    await fn();
    return true;
  }, 60_000, 500);
}

export class World {
  readonly namespace: string;
  readonly seed: number;
  private readonly random: () => number;
  private readonly c: ClusterClient;
  private keptBefore = new Map<string, string>();

  constructor(c: ClusterClient, namespace: string, seed: number) {
    this.c = c;
    this.namespace = namespace;
    this.seed = seed;
    this.random = rng(seed);
  }

  /**
   * alpha (OrderedReady) and beta (Parallel) drain and are scaled at random; gamma's drains always fail (two
   * attempts); delta's template is refused (restartPolicy Always); epsilon (Parallel) drains with
   * drainer-keep-volume and is scaled at random; a look-alike drain pod of alpha, made as someone who may only
   * create pods would, lists and mounts a live replica's claim.
   */
  async create(): Promise<void> {
    const { c, namespace } = this;
    await c.core.createNamespace({ body: { metadata: { name: namespace } } });
    await waitFor('default ServiceAccount', async () => c.core.readNamespacedServiceAccount({ namespace, name: 'default' }), 60_000);
    await Promise.all([
      createReadySet(c, namespace, { name: 'alpha', replicas: 4, template: simulatedDrain({ after: '1s' }) }),
      createReadySet(c, namespace, { name: 'beta', replicas: 4, policy: 'Parallel', template: simulatedDrain({ after: '2s' }) }),
      createReadySet(c, namespace, {
        name: 'gamma', replicas: 3, policy: 'Parallel', template: simulatedDrain({ after: '1s', phase: 'Failed', restartPolicy: 'Never' }),
        annotations: { 'statefulsets.kubernetes.io/drainer-max-attempts': '2' },
      }),
      createReadySet(c, namespace, { name: 'delta', replicas: 2, template: simulatedDrain({ restartPolicy: 'Always' }) }),
      createReadySet(c, namespace, { name: 'epsilon', replicas: 3, policy: 'Parallel', template: simulatedDrain({ after: '1s' }),
        annotations: { [KEEP_VOLUME_ANNOTATION]: EPSILON_KEEP } }),
    ]);
    await retrying('scale gamma', () => scale(c, namespace, 'gamma', 1));
    await retrying('scale delta', () => scale(c, namespace, 'delta', 1));
    this.keptBefore = await this.keptUids();
    await createLookAlikeDrainPod(c, namespace, 'alpha', 99, 'data-alpha-0');
  }

  private async keptUids(): Promise<Map<string, string>> {
    return new Map((await listClaims(this.c, this.namespace))
      .filter((p) => KEPT.includes(p.metadata!.name!))
      .map((p) => [p.metadata!.name!, p.metadata!.deletionTimestamp ? 'deleting' : p.metadata!.uid!]));
  }

  /** One step of this world's own seeded scaling. */
  async step(): Promise<void> {
    const set = SCALED[Math.floor(this.random() * SCALED.length)]!;
    const replicas = 1 + Math.floor(this.random() * 4);
    await retrying('scale', () => scale(this.c, this.namespace, set, replicas));
  }

  /** Faults have stopped: the last scale-down, after which every orphan must be drained. */
  async finish(): Promise<void> {
    await retrying('final scale', async () => {
      await scale(this.c, this.namespace, 'alpha', 1);
      await scale(this.c, this.namespace, 'beta', 2);
      await scale(this.c, this.namespace, 'epsilon', 1);
    });
  }

  /**
   * epsilon's released claims whose keep has not ended: each volume is still Retain, labelled and marked with
   * the claim it was kept for (a keep that has ended may be reclaimed; invariants.ts judges when it ended).
   */
  private async keptVolumesNow(audit: AuditEvent[]): Promise<string[]> {
    const found: string[] = [];
    const keeps = audit.filter((e) => e.resource === 'persistentvolumes' && e.verb === 'patch' && e.code === 200 &&
      serviceAccountReplica(e) !== undefined &&
      e.requestObject?.metadata?.annotations?.[KEPT_CLAIM_ANNOTATION]?.startsWith(`${this.namespace}/data-epsilon-`));
    for (const keep of keeps) {
      const marks = keep.requestObject!.metadata!.annotations!;
      if (Date.parse(marks[KEPT_UNTIL_ANNOTATION]!) < Date.now() + 5_000) continue;
      const pv = await this.c.core.readPersistentVolume({ name: keep.name! }).catch(() => undefined);
      const now = [pv?.spec?.persistentVolumeReclaimPolicy, pv?.metadata?.labels?.[KEPT_VOLUME_LABEL],
        pv?.metadata?.annotations?.[KEPT_CLAIM_UID_ANNOTATION]];
      if (now.join() !== ['Retain', 'true', marks[KEPT_CLAIM_UID_ANNOTATION]].join()) {
        found.push(`volume ${keep.name} of ${marks[KEPT_CLAIM_ANNOTATION]}, kept until ${marks[KEPT_UNTIL_ANNOTATION]}, is not kept: ` +
          `${pv ? now.join(', ') : 'gone'}`);
      }
    }
    return found;
  }

  async converged(): Promise<boolean> {
    const claims = await claimNames(this.c, this.namespace);
    const drains = (await this.c.core.listNamespacedPod({ namespace: this.namespace, labelSelector: ROLE_LABEL })).items
      .filter((p) => !p.metadata?.name?.startsWith('gamma-'));
    return claims.filter((n) => n.startsWith('data-alpha-')).length === 1 &&
      claims.filter((n) => n.startsWith('data-beta-')).length === 2 && claims.filter((n) => n.startsWith('data-epsilon-')).length === 1 &&
      drains.length === 0;
  }

  async describe(): Promise<string> {
    return this.c.kubectl(['-n', this.namespace, 'get', 'statefulsets,pods,persistentvolumeclaims', '-o', 'wide']).catch(String);
  }

  /** The safety invariants and this world's own promises, once the batch is over. */
  async check(audit: AuditEvent[], sightings: PodSighting[], leaderGapMs: number): Promise<WorldOutcome> {
    const { c, namespace } = this;
    const overtaken: string[] = [];
    const violations = checkInvariants(audit, sightings, {
      namespace, leaderGapMs, notice: (text) => overtaken.push(text), replicaOf: serviceAccountReplica,
      claimTemplates: ['data'], orderedReady: [`${namespace}/alpha`],
      refusedSets: [`${namespace}/delta`], keptSets: { [`${namespace}/epsilon`]: EPSILON_KEEP_MS },
    });
    violations.push(...await this.keptVolumesNow(audit));
    if (!(await eventReasons(c, namespace, 'delta')).includes('InvalidDrainerTemplate'))
      violations.push('delta\'s refused template was not reported');
    const keptAfter = await this.keptUids();
    for (const [name, uid] of this.keptBefore) {
      if (keptAfter.get(name) !== uid)
        violations.push(`claim ${name} of an ordinal that never left the range changed: ${uid} -> ${keptAfter.get(name) ?? 'gone'}`);
    }
    const gammaClaims = (await claimNames(c, namespace)).filter((n) => n.startsWith('data-gamma-'));
    if (!(await eventReasons(c, namespace, 'gamma')).includes('DrainFailed') || gammaClaims.length !== 3) {
      violations.push(`gamma's failed drain was not reported or its claims were touched (claims: ${gammaClaims.join(', ')})`);
    }
    const ours = audit.filter((e) => e.namespace === namespace && serviceAccountReplica(e) !== undefined && e.code >= 200 && e.code < 300);
    const drainPods = new Set(ours.filter((e) => e.verb === 'create' && e.resource === 'pods' &&
      e.requestObject?.metadata?.labels?.[ROLE_LABEL] === ROLE_DRAINER)
      .map((e) => e.responseObject?.metadata?.uid));
    return {
      violations, overtaken,
      drainsCompleted: ours.filter((e) => e.verb === 'delete' && e.resource === 'pods' &&
        drainPods.has(e.requestObject?.preconditions?.uid)).length,
      claimsReleased: ours.filter((e) => e.verb === 'delete' && e.resource === 'persistentvolumeclaims').length,
    };
  }
}
