// The effects of a plan, one method per action (the shape of the StatefulSet controller's pod control): each
// writes through the API with its preconditions, asks the release guard's quorum reads where a release needs
// them, and records the event and metric of its step. The executor decides the order; this decides nothing.
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import {
  DRAIN_POD_ANNOTATION, DRAIN_POD_CONTAINERS_ANNOTATION, DRAINED_ANNOTATION, ENDED_DRAIN_POD_ANNOTATION, FAILURES_ANNOTATION, FINALIZER,
  LAST_FAILURE_ANNOTATION, ORPHANED_SINCE_ANNOTATION, RETRY_TOKEN_ANNOTATION,
} from '../planner/keys.ts';
import { drainedRecord, drainPodRecord } from '../planner/release-proof.ts';
import { keepMarks, readKeptVolume, type KeptVolume } from '../planner/kept-volumes.ts';
import type { Action, ClaimAt, VolumeKeep } from '../planner/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { describeApiError, statusOf, type KubeApi } from '../kube/api.ts';
import type { EventRecorder } from './events.ts';
import { actionFields } from './action-fields.ts';
import { NotLeaderError, TemplateRefusedError, VolumeNotKeptError } from './errors.ts';
import { orUndefinedIfGone, ReleaseGuard, StaleCacheError } from './release-guard.ts';
import { dryRunVerdict, refusal, type TemplateVerdicts } from './template-verifier.ts';
import type { DrainControl, PlanRun } from './executor.ts';

/** The writes a drain makes, and the quorum reads that guard releases. */
export type DrainApi = Pick<KubeApi, 'createPod' | 'deletePod' | 'deleteClaim' | 'annotateClaim' | 'setFinalizers' | 'getStatefulSet' |
  'getPod' | 'getClaim' | 'getVolume' | 'patchVolume'>;
type Writes = Pick<DrainApi, 'createPod' | 'deletePod' | 'deleteClaim' | 'annotateClaim' | 'setFinalizers' | 'patchVolume'>;
type Do<K extends Action['kind']> = Extract<Action, { kind: K }>;

/** Log fields of a set: the statefulset key. */
const setField = (set: V1StatefulSet) => ({ statefulset: `${set.metadata?.namespace}/${set.metadata?.name}` });

export class ApiDrainControl implements DrainControl {
  private readonly api: DrainApi;
  /**
   * The writes, each asking for leadership right before it is sent: an action can make several (a drain pod
   * and then its record on each claim), and a replica stopped between two of them must not send the rest
   * once another replica may have taken over.
   */
  private readonly writes: Writes;
  private readonly events: Pick<EventRecorder, 'record'>;
  private readonly verdicts: TemplateVerdicts;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  /** Told the end of each keep written (the keeper's next pass). */
  private readonly onKept: (until: string) => void;

  constructor(api: DrainApi, events: Pick<EventRecorder, 'record'>, verdicts: TemplateVerdicts, metrics: Metrics, log: Logger,
      isLeader: () => boolean, onKept: (until: string) => void = () => {}) {
    this.onKept = onKept;
    this.api = api;
    const leading = <A extends unknown[], R>(send: (...args: A) => Promise<R>) => (...args: A): Promise<R> =>
      (isLeader() ? send(...args) : Promise.reject(new NotLeaderError()));
    this.writes = {
      createPod: leading(api.createPod.bind(api)), deletePod: leading(api.deletePod.bind(api)),
      deleteClaim: leading(api.deleteClaim.bind(api)),
      annotateClaim: leading(api.annotateClaim.bind(api)), setFinalizers: leading(api.setFinalizers.bind(api)),
      patchVolume: leading(api.patchVolume.bind(api)),
    };
    this.events = events;
    this.verdicts = verdicts;
    this.metrics = metrics;
    this.log = log;
  }

  startRun(set: V1StatefulSet): PlanRun {
    return { guard: new ReleaseGuard(this.api, set), versions: new Map() };
  }

  async setFinalizer(set: V1StatefulSet, present: boolean): Promise<void> {
    const others = (set.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER);
    await this.writes.setFinalizers(set.metadata?.namespace ?? '', set.metadata?.name ?? '', set.metadata?.resourceVersion ?? '',
      present ? [...others, FINALIZER] : others);
    this.log.info(present ? 'added finalizer' : 'removed finalizer', setField(set));
  }

  async createDrainPod(set: V1StatefulSet, action: Do<'CreateDrainPod'>, run: PlanRun): Promise<void> {
    const namespace = set.metadata?.namespace ?? '';
    const fields = { ...setField(set), ...actionFields(action) };
    await run.guard.confirmOrphaned(action.ordinal);
    await run.guard.confirmClaimsAsPlanned(action.claims);
    let created: V1Pod | undefined;
    try {
      // 409, the name is taken: our cache is behind (the pod exists already, or the stateful pod is still
      // there). Nothing was created; the watch event that follows triggers a fresh plan.
      if (!(await unless([409], async () => (created = await this.writes.createPod(action.pod))))) {
        this.log.info('drain pod name is taken; waiting for the cache to catch up', fields);
        return;
      }
    } catch (err) {
      // A template tried for the first time: its refusal is the template's verdict (reported by the next plan).
      const verdict = action.templateHash === undefined ? undefined : refusal(err);
      if (!verdict) throw err;
      this.verdicts.set(setField(set).statefulset, action.templateHash!, verdict);
      throw new TemplateRefusedError(`the API server refused the first drain pod of a template found at start-up; nothing was ` +
        `created: ${describeApiError(err)}`);
    }
    if (action.templateHash !== undefined) this.verdicts.set(setField(set).statefulset, action.templateHash, { state: 'accepted' });
    // The record that makes the pod provably ours. A crash before it leaves a pod that releases nothing
    // and is replaced once it has finished (see the planner's handling of unproven pods).
    const podUid = created?.metadata?.uid ?? '';
    const record = drainPodRecord(created ?? action.pod);
    try {
      for (const claim of action.claims) await this.annotate(namespace, claim, record, run);
    } catch (err) {
      // A claim changed since the plan (409): the drain was decided on a stale view. The pod is withdrawn
      // rather than left unproven (it would drain, prove nothing and be drained again); the next plan decides afresh.
      if (statusOf(err) === 409 && podUid !== '')
        await unless([404, 409], () => this.writes.deletePod(namespace, action.pod.metadata?.name ?? '', podUid));
      throw err;
    }
    this.metrics.drainsStarted.inc();
    this.log.info('created drain pod', { ...fields, podUid });
    this.events.record(set, {
      type: 'Normal', reason: 'DrainStarted', action: 'CreateDrainPod',
      note: `created drain pod ${action.pod.metadata?.name} for claim(s) ${action.claims.map((c) => c.name).join(', ')} ` +
        `(attempt ${action.attempt})`,
      related: { kind: 'Pod', name: action.pod.metadata?.name ?? '' },
    });
  }

  async recordDrained(set: V1StatefulSet, action: Do<'RecordDrained'>, run: PlanRun): Promise<void> {
    for (const claim of action.claims) {
      // Written on the claim as the plan saw it, once the release proof held of it (409 if it changed since; 404: gone).
      const at = await run.guard.confirmDrained(action.ordinal, claim, action.drainPod);
      if (!at) continue;
      let next: string | undefined;
      if (!(await unless([404], async () => (next = await this.writes.annotateClaim(set.metadata?.namespace ?? '', at.name, at.uid,
        drainedRecord(action.drainPod.uid, action.generation), at.resourceVersion))))) continue;
      if (next) run.versions.set(at.uid, next);
    }
    this.log.info('recorded the drain\'s success on its claims', { ...setField(set), ...actionFields(action) });
  }

  async createPlaceholder(set: V1StatefulSet, action: Do<'CreatePlaceholder'>): Promise<void> {
    const fields = { ...setField(set), ...actionFields(action) };
    // 409: the name is taken (the drain pod not gone yet, or a returning replica); the next plan sees which.
    if (!(await unless([409], () => this.writes.createPod(action.pod)))) {
      this.log.info('placeholder name is taken; waiting for the cache to catch up', fields);
      return;
    }
    this.log.info('created placeholder', fields);
  }

  async deleteClaim(set: V1StatefulSet, action: Do<'DeleteClaim'>, run: PlanRun): Promise<void> {
    const fields = { ...setField(set), ...actionFields(action) };
    // The keep first: the proof's read of the set stays the last request before the delete.
    if (action.keep) await this.keepVolume(set, action, action.keep);
    const at = await run.guard.confirmDeletable(action.ordinal, action.claim.seen, action.placeholder);
    // 404: already gone. A 409 (changed since the plan saw it, or replaced) is an error: the plan is tried again from a fresh look.
    if (!(await unless([404], () => this.writes.deleteClaim(set.metadata?.namespace ?? '', at.name, at.uid, at.resourceVersion)))) {
      this.log.info('claim already gone; not deleting', fields);
      return;
    }
    this.metrics.claimsReleased.inc();
    this.log.info('released claim', fields);
    this.events.record(set, {
      type: 'Normal', reason: 'ClaimReleased', action: 'DeleteClaim',
      note: `deleted claim ${action.claim.name}, drained by a drain pod that succeeded`,
      related: { kind: 'PersistentVolumeClaim', name: action.claim.name, uid: action.claim.uid },
    });
  }

  /**
   * Before a kept set's claim is deleted: its volume's reclaim policy set to Retain and the volume marked
   * (kept-volumes.ts), conditional on the volume as read. Any doubt (no volume, one bound elsewhere, a write
   * refused) is a VolumeNotKeptError: the claim is not deleted, as the set was promised its volumes are kept.
   */
  private async keepVolume(set: V1StatefulSet, action: Do<'DeleteClaim'>, keep: VolumeKeep): Promise<void> {
    const namespace = set.metadata?.namespace ?? '';
    const name = action.claim.name;
    const notKept = (why: string): never => {
      const message = `claim ${name} is not released: its volume could not be kept: ${why}`;
      this.log.warn(message, { ...setField(set), ...actionFields(action) });
      this.events.record(set, { type: 'Warning', reason: 'VolumeNotKept', action: 'KeepVolume', note: message,
        related: { kind: 'PersistentVolumeClaim', name, uid: action.claim.uid } });
      throw new VolumeNotKeptError(message);
    };
    const forbidden = (err: unknown, verb: string) => (statusOf(err) === 403
      ? notKept(`the controller may not ${verb} persistentvolumes (install the keep-volume permissions: docs/security.md#permissions)`)
      : Promise.reject(err));
    // (404: the claim is gone, and its delete below says so.)
    const claim = await orUndefinedIfGone(this.api.getClaim(namespace, name));
    if (!claim) return;
    if (claim.metadata?.uid !== action.claim.uid) throw new StaleCacheError(`claim ${name} was replaced since the plan saw it`);
    const volumeName = claim.spec?.volumeName;
    if (!volumeName) return notKept('it is bound to no volume');
    const volume = await orUndefinedIfGone(this.api.getVolume(volumeName)).catch((err) => forbidden(err, 'get'));
    if (!volume) return notKept(`its volume ${volumeName} is gone`);
    if (volume.spec?.claimRef?.uid !== action.claim.uid) return notKept(`volume ${volumeName} is bound to another claim`);
    const marked = readKeptVolume(volume);
    const policy = volume.spec.persistentVolumeReclaimPolicy;
    // Kept already for this very drain: a retry after the keep was written and the delete was not. Written again
    // for a keep of an earlier drain (its release was called off), and when this retry comes so late that the
    // keep would end more than a tenth of its length (at most a minute) before this release's: the volume is
    // kept for the whole keep after its claim goes.
    const slackMs = Math.min((Date.parse(keep.until) - Date.parse(keep.at)) / 10, 60_000);
    if (marked?.claimUid === action.claim.uid && marked.drainPodUid === keep.drainPodUid && policy === 'Retain' &&
        Date.parse(marked.until) >= Date.parse(keep.until) - slackMs) return;
    const kept: KeptVolume = {
      namespace, claim: name, claimUid: action.claim.uid, statefulset: set.metadata?.name ?? '', setUid: set.metadata?.uid ?? '',
      ordinal: action.ordinal, drainPodUid: keep.drainPodUid, keptAt: keep.at, until: keep.until,
      // Marked and still Retain: the policy before is the one that keep marked, not its own Retain.
      policyBefore: marked && policy === 'Retain' ? marked.policyBefore : policy ?? 'Delete',
    };
    await this.writes.patchVolume(volumeName, volume.metadata?.uid ?? '', volume.metadata?.resourceVersion ?? '',
      { metadata: keepMarks(kept), spec: { persistentVolumeReclaimPolicy: 'Retain' } }).catch((err) => forbidden(err, 'patch'));
    this.metrics.volumesKept.inc();
    this.onKept(keep.until);
    this.log.info('kept volume', { ...setField(set), ...actionFields(action), volume: volumeName, until: keep.until });
    this.events.record(set, {
      type: 'Normal', reason: 'VolumeKept', action: 'KeepVolume',
      note: `volume ${volumeName} of claim ${name} is kept until ${keep.until} (reclaim policy Retain); ` +
        `\`kubectl sts-drain restore ${set.metadata?.name} ${action.ordinal}\` binds it to a new claim`,
      related: { kind: 'PersistentVolumeClaim', name, uid: action.claim.uid },
    });
  }

  async deletePlaceholder(set: V1StatefulSet, action: Do<'DeletePlaceholder'>, run: PlanRun): Promise<void> {
    await run.guard.confirmNameMayBeFreed(action.ordinal);
    if (!(await unless([404, 409], () => this.writes.deletePod(set.metadata?.namespace ?? '', action.pod.name, action.pod.uid)))) return;
    this.log.info('deleted placeholder', { ...setField(set), ...actionFields(action) });
    if (action.reason !== 'released') return;
    this.events.record(set, {
      type: 'Normal', reason: 'DrainCompleted', action: 'DeletePlaceholder',
      note: `drain of ordinal ${action.ordinal} complete: its claims are released and the name ${action.pod.name} is free`,
      related: { kind: 'Pod', name: action.pod.name, uid: action.pod.uid },
    });
  }

  async forgetDrained(set: V1StatefulSet, action: Do<'ForgetDrained'>, run: PlanRun): Promise<void> {
    for (const claim of action.claims) {
      await unless([404], () => this.annotate(set.metadata?.namespace ?? '', claim, {
        [DRAINED_ANNOTATION]: null, [DRAIN_POD_ANNOTATION]: null, [DRAIN_POD_CONTAINERS_ANNOTATION]: null,
        [ENDED_DRAIN_POD_ANNOTATION]: claim.drainedPodUid,
      }, run));
    }
    this.log.info('called off a release: the claims are kept', { ...setField(set), ...actionFields(action) });
  }

  async deleteDrainPod(set: V1StatefulSet, action: Do<'DeleteDrainPod'>, run: PlanRun): Promise<void> {
    const namespace = set.metadata?.namespace ?? '';
    const deleted = await unless([404, 409], () => this.writes.deletePod(namespace, action.pod.name, action.pod.uid));
    // Gone (404) or replaced (409) counts as ended too: the record must not outlive the pod it names. A
    // claim gone needs no forgetting; one changed since the plan (409) fails the plan, and the next forgets again.
    for (const claim of action.forget ?? []) {
      await unless([404], () => this.annotate(namespace, claim, {
        [DRAIN_POD_ANNOTATION]: null, [DRAIN_POD_CONTAINERS_ANNOTATION]: null, [ENDED_DRAIN_POD_ANNOTATION]: action.pod.uid,
      }, run));
    }
    if (!deleted) return;
    this.log.info('deleted drain pod', { ...setField(set), ...actionFields(action) });
    if (action.reason === 'drained') {
      this.metrics.drainsSucceeded.inc();
      if (action.drainSeconds !== undefined) this.metrics.drainDuration.observe(action.drainSeconds);
    } else if (action.reason === 'retry' || action.reason === 'superseded') {
      this.events.record(set, {
        type: 'Normal', reason: 'DrainRetrying', action: 'DeleteDrainPod',
        note: `deleted failed drain pod ${action.pod.name}; a new attempt follows`,
        related: { kind: 'Pod', name: action.pod.name, uid: action.pod.uid },
      });
    }
  }

  async recordFailure(set: V1StatefulSet, action: Do<'RecordFailure'>, run: PlanRun): Promise<void> {
    for (const claim of action.claims) {
      await this.annotate(set.metadata?.namespace ?? '', claim,
        { [FAILURES_ANNOTATION]: String(action.failures), [LAST_FAILURE_ANNOTATION]: action.at }, run);
    }
    this.metrics.drainsFailed.inc();
  }

  async resetFailures(set: V1StatefulSet, action: Do<'ResetFailures'>, run: PlanRun): Promise<void> {
    for (const claim of action.claims) {
      await this.annotate(set.metadata?.namespace ?? '', claim,
        { [FAILURES_ANNOTATION]: '0', [RETRY_TOKEN_ANNOTATION]: action.retryToken }, run);
    }
    this.log.info('reset drain failure count', { ...setField(set), ...actionFields(action) });
  }

  async verifyTemplate(set: V1StatefulSet, action: Do<'VerifyTemplate'>): Promise<void> {
    const verdict = await dryRunVerdict(this.api, action.pod);
    this.verdicts.set(setField(set).statefulset, action.templateHash, verdict);
    this.log.info('checked the drainer template with the API server', { ...setField(set), verdict: verdict.state });
  }

  async correctTime(set: V1StatefulSet, action: Do<'CorrectTime'>, run: PlanRun): Promise<void> {
    // 404: the claim is gone, nothing to correct.
    for (const claim of action.claims)
      await unless([404], () => this.annotate(set.metadata?.namespace ?? '', claim, { [action.annotation]: action.at }, run));
  }

  async markOrphaned(set: V1StatefulSet, action: Do<'MarkOrphaned'>, run: PlanRun): Promise<void> {
    // 404: the claim is gone; the next plan sees that.
    for (const claim of action.claims) {
      await unless([404],
        () => this.annotate(set.metadata?.namespace ?? '', claim, { [ORPHANED_SINCE_ANNOTATION]: action.at ?? null }, run));
    }
  }

  report(set: V1StatefulSet, action: Do<'Report'>): void {
    // Counted with its report, which is made once per attempt (a stale cache may repeat the stop itself).
    if (action.reason === 'DrainTimedOut') this.metrics.drainTimeouts.inc();
    const log = action.type === 'Warning' ? this.log.warn.bind(this.log) : this.log.info.bind(this.log);
    log(action.message, { ...setField(set), ...actionFields(action) });
    this.events.record(set, { type: action.type, reason: action.reason, action: 'Drain', note: action.message });
  }

  /**
   * Annotates a claim as the plan saw it: refused (409) if it changed since, or is another claim of that name.
   * A 409 is thrown as the plan being stale: the next reconcile decides again from the claim as it is now.
   */
  private async annotate(namespace: string, claim: ClaimAt, annotations: Record<string, string | null>, run: PlanRun): Promise<void> {
    const version = run.versions.get(claim.uid) ?? claim.resourceVersion;
    const next = await this.writes.annotateClaim(namespace, claim.name, claim.uid, annotations, version);
    if (next) run.versions.set(claim.uid, next);
  }
}

/** Sends; false when the API answered with one of `benign` (the write is moot), other errors are thrown. */
async function unless(benign: number[], send: () => Promise<unknown>): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (err) {
    if (benign.includes(statusOf(err))) return false;
    throw err;
  }
}
