// The planner driven through whole lifecycles against a small model of the cluster: the StatefulSet controller
// scales (and, as its cache allows, starts a replica on a claim still being deleted whenever the name is free),
// a kubelet runs drain pods to Succeeded or Failed, a deleted claim may stay Terminating for a while, the
// controller may crash between creating a drain pod and recording it, and an attacker who may create pods adds
// look-alike drain pods at any moment. The safety
// invariants are stated from the model's ground truth (which pods the controller really created, for which
// ordinal, while it was outside the range), never from the planner's own conditions.
import fc from 'fast-check';
import { runs } from './property-runs.ts';
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { drainPodClaims, mountedClaimNames } from '../../src/planner/drain-pod.ts';
import { inRange } from '../../src/planner/identity.ts';
import { drainedRecord, drainPodRecord } from '../../src/planner/release-proof.ts';
import { DRAIN_POD_ANNOTATION, DRAIN_POD_CONTAINERS_ANNOTATION, DRAINED_ANNOTATION, FAILURES_ANNOTATION, FINALIZER,
  LAST_FAILURE_ANNOTATION } from '../../src/planner/keys.ts';
import { planSet } from '../../src/planner/plan.ts';
import { parseDrainerTemplate } from '../../src/planner/template.ts';
import type { Action } from '../../src/planner/types.ts';
import { ACCEPTED, NOW, aClaim, aDrainPod, aSet, aStatefulPod, settings } from './fixtures.ts';

const ORDINALS = 6;

const command = fc.oneof(
  { arbitrary: fc.constant({ kind: 'reconcile' as const }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('scale' as const), replicas: fc.integer({ min: 0, max: ORDINALS }) }), weight: 2 },
  fc.record({ kind: fc.constant('kubelet' as const), ordinal: fc.integer({ min: 0, max: ORDINALS - 1 }),
    phase: fc.constantFrom('Running', 'Succeeded', 'Failed') }),
  // Every drain pod at once (most drains succeed together in a Parallel scale-down).
  { arbitrary: fc.record({ kind: fc.constant('kubelet-all' as const), phase: fc.constantFrom('Running', 'Succeeded') }), weight: 2 },
  fc.record({ kind: fc.constant('pod-gone' as const), ordinal: fc.integer({ min: 0, max: ORDINALS - 1 }) }),
  fc.constant({ kind: 'crash-before-record' as const }),
  // Claims deleted and no longer used by any pod finish their deletion (a storage finalizer may delay it).
  fc.constant({ kind: 'claims-finalized' as const }),
  fc.record({
    kind: fc.constant('craft' as const), ordinal: fc.integer({ min: 0, max: ORDINALS + 2 }),
    target: fc.integer({ min: 0, max: ORDINALS - 1 }),
    phase: fc.constantFrom('Pending', 'Running', 'Succeeded', 'Failed'), copyRecord: fc.boolean(),
  }),
);

const scenario = fc.record({
  policy: fc.constantFrom('OrderedReady' as const, 'Parallel' as const),
  replicas: fc.integer({ min: 1, max: ORDINALS }),
  commands: fc.array(command, { minLength: 5, maxLength: 40 }),
});

interface Created {
  ordinal: number;
  /** The claim UIDs of the ordinal when the controller created the pod. */
  claimUids: Set<string>;
  placeholder?: boolean;
}

class Cluster {
  set;
  claims: V1PersistentVolumeClaim[] = [];
  pods: V1Pod[] = [];
  /** Ground truth: every pod the controller created (by UID). */
  readonly created = new Map<string, Created>();
  readonly violations: string[] = [];
  released = 0;
  /** Ground truth: when a replica last started on each claim (by UID), and when each drain pod's success was recorded on it. */
  private readonly replicaStarted = new Map<string, number>();
  private readonly drainedAt = new Map<string, { pod: string; at: number }>();
  private crashBeforeRecord = false;
  private nextUid = 0;
  private now = NOW.getTime();

  constructor(policy: 'OrderedReady' | 'Parallel', replicas: number) {
    this.set = aSet({ replicas, policy, finalizers: [FINALIZER] });
    this.statefulController();
  }

  private uid(prefix: string): string {
    return `${prefix}-${++this.nextUid}`;
  }

  private podAt(ordinal: number): V1Pod | undefined {
    return this.pods.find((p) => p.metadata!.name === `db-${ordinal}`);
  }

  /**
   * The StatefulSet controller: a pod (and, if missing, a claim) for every ordinal in range whose name is free;
   * out-of-range stateful pods removed. Its check of a claim being deleted reads a cache (kubernetes #74374), so
   * here it starts the replica whenever the name is free, on the claim as it is: Terminating or not.
   */
  statefulController(): void {
    this.pods = this.pods.filter((p) => p.metadata!.labels?.app !== 'db' || inRange(this.set, Number(p.metadata!.name!.slice(3))));
    for (let o = 0; o < ORDINALS; o++) {
      if (!inRange(this.set, o) || this.podAt(o)) continue;
      let claim = this.claims.find((c) => c.metadata!.name === `data-db-${o}`);
      if (!claim) this.claims.push((claim = aClaim(this.set, o, { uid: this.uid(`claim-${o}`) })));
      if (claim.metadata!.deletionTimestamp)
        this.violations.push(`replica db-${o} started on claim ${claim.metadata!.uid}, which is being deleted`);
      this.replicaStarted.set(claim.metadata!.uid!, this.now);
      this.pods.push({ ...aStatefulPod(this.set, o), metadata: { ...aStatefulPod(this.set, o).metadata, uid: this.uid('stateful') } });
    }
  }

  /** Claims being deleted that no pod mounts any more are gone. */
  private finalizeClaims(): void {
    const mounted = new Set(this.pods.flatMap((p) => [...mountedClaimNames(p)]));
    this.claims = this.claims.filter((c) => !c.metadata!.deletionTimestamp || mounted.has(c.metadata!.name!));
  }

  apply(cmd: { kind: string; replicas?: number; ordinal?: number; phase?: string; target?: number; copyRecord?: boolean }): void {
    this.now += 1_000;
    switch (cmd.kind) {
      case 'reconcile': return this.reconcile();
      case 'scale':
        if (cmd.replicas === this.set.spec!.replicas) return;
        this.set = { ...this.set, metadata: { ...this.set.metadata, generation: (this.set.metadata!.generation ?? 1) + 1 },
          spec: { ...this.set.spec!, replicas: cmd.replicas } };
        return this.statefulController();
      case 'claims-finalized':
        this.finalizeClaims();
        return this.statefulController();
      case 'kubelet': {
        const pod = this.podAt(cmd.ordinal!);
        if (pod?.status?.phase === 'Pending' || pod?.status?.phase === 'Running') pod.status = { ...pod.status, phase: cmd.phase };
        return;
      }
      case 'kubelet-all':
        for (const pod of this.pods) {
          const drainPod = pod.metadata!.labels?.app !== 'db' && !this.created.get(pod.metadata!.uid!)?.placeholder;
          if (drainPod && (pod.status?.phase === 'Pending' || pod.status?.phase === 'Running'))
            pod.status = { ...pod.status, phase: cmd.phase };
        }
        return;
      case 'pod-gone':
        // A drain pod deleted by someone else (eviction, a user): the StatefulSet may then take the name back. Not a
        // placeholder: it is never scheduled, so nothing evicts it (deleting it by hand is a known limit, docs/known-limits.md).
        this.pods = this.pods.filter((p) => p.metadata!.name !== `db-${cmd.ordinal}` || p.metadata!.labels?.app === 'db' ||
          this.created.get(p.metadata!.uid!)?.placeholder);
        return this.statefulController();
      case 'crash-before-record':
        this.crashBeforeRecord = true;
        return;
      case 'craft': {
        if (this.podAt(cmd.ordinal!)) return; // the name is taken
        const target = this.claims.find((c) => c.metadata!.name === `data-db-${cmd.target}`);
        if (!target) return;
        const pod = aDrainPod(this.set, cmd.ordinal!, [target], { phase: cmd.phase, record: false });
        pod.metadata!.uid = this.uid('crafted');
        // Someone who can read claims can copy a record value onto the pod; they cannot write one onto a claim.
        if (cmd.copyRecord) pod.metadata!.annotations![DRAIN_POD_ANNOTATION] = target.metadata!.annotations?.[DRAIN_POD_ANNOTATION] ?? '';
        this.pods.push(pod);
        return;
      }
    }
  }

  plan(): Action[] {
    return planSet({ set: this.set, claims: this.claims, pods: this.pods, template: parseDrainerTemplate(this.set),
      templateVerdict: ACCEPTED, now: new Date(this.now) }, settings).actions;
  }

  reconcile(): void {
    for (const a of this.plan()) this.perform(a);
    this.statefulController();
  }

  private ordinalOfClaim(uid: string): number {
    return Number(this.claims.find((c) => c.metadata!.uid === uid)!.metadata!.name!.split('-').pop());
  }

  private perform(a: Action): void {
    switch (a.kind) {
      case 'CreateDrainPod': {
        if (inRange(this.set, a.ordinal)) this.violations.push(`drain pod created for ordinal ${a.ordinal}, inside the range`);
        for (const name of mountedClaimNames(a.pod)) {
          const claim = this.claims.find((c) => c.metadata!.name === name);
          if (!claim || this.ordinalOfClaim(claim.metadata!.uid!) !== a.ordinal)
            this.violations.push(`drain pod for ordinal ${a.ordinal} mounts ${name}`);
        }
        if (this.podAt(a.ordinal)) return; // AlreadyExists
        const uid = this.uid('drain');
        const created: V1Pod = { ...a.pod, metadata: { ...a.pod.metadata, uid, creationTimestamp: new Date(this.now) },
          status: { phase: 'Pending' } };
        this.pods.push(created);
        this.created.set(uid, { ordinal: a.ordinal, claimUids: new Set(a.claims.map((c) => c.uid)) });
        if (this.crashBeforeRecord) {
          this.crashBeforeRecord = false;
          return;
        }
        for (const ref of a.claims) this.annotate(ref.uid, drainPodRecord(created));
        return;
      }
      case 'RecordDrained': {
        // The executor checks this against etcd (release-guard.ts); the model checks the planner's word against the truth.
        const pod = this.pods.find((p) => p.metadata!.uid === a.drainPod.uid);
        const created = this.created.get(a.drainPod.uid);
        for (const ref of a.claims) {
          const claim = this.claims.find((c) => c.metadata!.uid === ref.uid);
          const ordinal = claim ? this.ordinalOfClaim(ref.uid) : undefined;
          if (!created || created.placeholder) this.violations.push(`drain of ${ref.name} recorded for pod ${a.drainPod.name}, which the ` +
            `controller did not create as a drain pod`);
          else if (created.ordinal !== ordinal)
            this.violations.push(`drain of ${ref.name} (ordinal ${ordinal}) recorded for a drain of ordinal ${created.ordinal}`);
          else if (!created.claimUids.has(ref.uid))
            this.violations.push(`drain of ${ref.name} recorded, but it is not the claim the drain was created for`);
          if (ordinal !== undefined && inRange(this.set, ordinal))
            this.violations.push(`drain of ${ref.name} recorded while its ordinal is in range`);
          if (pod?.status?.phase !== 'Succeeded')
            this.violations.push(`drain of ${ref.name} recorded for a drain pod in phase ${pod?.status?.phase}`);
          if (pod && (!mountedClaimNames(pod).has(ref.name) || !drainPodClaims(pod).some((c) => c.uid === ref.uid))) {
            this.violations.push(`drain of ${ref.name} recorded for a pod that did not mount it`);
          }
          if (claim) this.drainedAt.set(ref.uid, { pod: a.drainPod.uid, at: this.now });
          this.annotate(ref.uid, drainedRecord(a.drainPod.uid, a.generation));
        }
        return;
      }
      case 'CreatePlaceholder': {
        if (this.podAt(a.ordinal)) return; // AlreadyExists
        const uid = this.uid('placeholder');
        this.pods.push({ ...a.pod, metadata: { ...a.pod.metadata, uid, creationTimestamp: new Date(this.now) },
          status: { phase: 'Pending' } });
        this.created.set(uid, { ordinal: a.ordinal, claimUids: new Set(), placeholder: true });
        return;
      }
      case 'DeleteClaim': {
        const claim = this.claims.find((c) => c.metadata!.uid === a.claim.uid);
        if (!claim) return;
        const ordinal = this.ordinalOfClaim(a.claim.uid);
        const drained = this.drainedAt.get(a.claim.uid);
        const holder = this.podAt(ordinal);
        if (!drained) this.violations.push(`claim ${a.claim.name} released without a recorded drain`);
        else if ((this.replicaStarted.get(a.claim.uid) ?? -1) >= drained.at)
          this.violations.push(`claim ${a.claim.name} released after a replica used it since its drain`);
        if (inRange(this.set, ordinal)) this.violations.push(`claim ${a.claim.name} released while its ordinal is in range`);
        if (!holder || !this.created.get(holder.metadata!.uid!)?.placeholder)
          this.violations.push(`claim ${a.claim.name} released while no placeholder holds db-${ordinal}`);
        // Kept Terminating while a pod that lists it exists (pvc-protection), or a storage finalizer holds it.
        this.claims = this.claims.map((c) => (c.metadata!.uid === a.claim.uid
          ? { ...c, metadata: { ...c.metadata, deletionTimestamp: new Date(this.now) } } : c));
        this.released += 1;
        return;
      }
      case 'DeletePlaceholder': {
        if (this.claims.some((c) => c.metadata!.deletionTimestamp && this.ordinalOfClaim(c.metadata!.uid!) === a.ordinal)) {
          return; // the executor reads the claims from etcd first and keeps the placeholder (release-guard.ts)
        }
        if (!this.created.get(a.pod.uid)?.placeholder) this.violations.push(`pod ${a.pod.name} deleted as a placeholder`);
        this.pods = this.pods.filter((p) => p.metadata!.uid !== a.pod.uid);
        return;
      }
      case 'ForgetDrained':
        for (const ref of a.claims) {
          this.drainedAt.delete(ref.uid);
          this.annotate(ref.uid,
            { [DRAINED_ANNOTATION]: undefined, [DRAIN_POD_ANNOTATION]: undefined, [DRAIN_POD_CONTAINERS_ANNOTATION]: undefined });
        }
        return;
      case 'DeleteDrainPod': {
        const pod = this.pods.find((p) => p.metadata!.uid === a.pod.uid);
        if (pod?.metadata!.labels?.app === 'db') this.violations.push(`stateful pod ${a.pod.name} deleted`);
        this.pods = this.pods.filter((p) => p.metadata!.uid !== a.pod.uid);
        if (this.created.get(a.pod.uid)?.placeholder) this.violations.push(`placeholder ${a.pod.name} deleted as a drain pod`);
        for (const ref of a.forget ?? [])
          this.annotate(ref.uid, { [DRAIN_POD_ANNOTATION]: undefined, [DRAIN_POD_CONTAINERS_ANNOTATION]: undefined });
        return;
      }
      case 'RecordFailure':
        for (const ref of a.claims) this.annotate(ref.uid, { [FAILURES_ANNOTATION]: String(a.failures), [LAST_FAILURE_ANNOTATION]: a.at });
        return;
      case 'ResetFailures':
        for (const ref of a.claims) this.annotate(ref.uid, { [FAILURES_ANNOTATION]: '0' });
        return;
      default:
    }
  }

  private annotate(uid: string, annotations: Record<string, string | undefined>): void {
    const merged = (c: V1PersistentVolumeClaim) => Object.fromEntries(Object.entries({ ...c.metadata!.annotations, ...annotations })
      .filter(([, v]) => v !== undefined)) as Record<string, string>;
    this.claims = this.claims.map((c) => (c.metadata!.uid === uid ? { ...c, metadata: { ...c.metadata, annotations: merged(c) } } : c));
  }

  /** Every pod finishes successfully and time passes: the controller must then release every orphan it may. */
  settle(): void {
    for (let round = 0; round < 40; round++) {
      this.now += settings.backoffMaxMs;
      for (const p of this.pods) {
        const drainPod = p.metadata!.labels?.app !== 'db' && !this.created.get(p.metadata!.uid!)?.placeholder;
        if (drainPod && (p.status?.phase === 'Pending' || p.status?.phase === 'Running')) p.status = { ...p.status, phase: 'Succeeded' };
      }
      this.finalizeClaims();
      this.reconcile();
    }
  }
}

describe('planner lifecycles with crashes and an attacker who may create pods', () => {
  it('releases a claim only after a Succeeded drain the controller created for that claim\'s own ordinal, while outside the range', () => {
    fc.assert(fc.property(scenario, ({ policy, replicas, commands }) => {
      const cluster = new Cluster(policy, replicas);
      for (const cmd of commands) cluster.apply(cmd);
      cluster.settle();
      expect(cluster.violations).toEqual([]);
    }), { numRuns: runs(1500) });
  });

  it('every orphaned claim whose drain did not give up is released once the pods succeed', () => {
    fc.assert(fc.property(scenario, ({ policy, replicas, commands }) => {
      const cluster = new Cluster(policy, replicas);
      for (const cmd of commands) cluster.apply(cmd);
      cluster.settle();
      const stranded = cluster.claims.filter((c) => {
        const ordinal = Number(c.metadata!.name!.split('-').pop());
        const failures = Number(c.metadata!.annotations?.[FAILURES_ANNOTATION] ?? '0');
        return !c.metadata!.deletionTimestamp && !inRange(cluster.set, ordinal) && failures < settings.maxAttempts && ordinal < ORDINALS;
      });
      expect(stranded.map((c) => c.metadata!.name)).toEqual([]);
    }), { numRuns: runs(500) });
  });

  it('the model really exercises create, Succeeded and release of the controller\'s own drain pods', () => {
    const cluster = new Cluster('OrderedReady', 3);
    for (const cmd of [{ kind: 'scale', replicas: 1 }, { kind: 'reconcile' }, { kind: 'kubelet', ordinal: 2, phase: 'Succeeded' },
      { kind: 'reconcile' }, { kind: 'reconcile' }, { kind: 'reconcile' }]) cluster.apply(cmd);
    expect(cluster.released).toBe(1);
    expect([...cluster.created.values()].filter((c) => c.placeholder)).toHaveLength(1);
    expect(cluster.created.size).toBe(2);
  });
});
