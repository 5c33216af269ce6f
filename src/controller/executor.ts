// The side effects: performs a plan's actions in order (a run of drain pod creations at once) through the
// API, with UID preconditions, and records an event for each step. Stops at the first failure; the next
// reconcile re-plans from scratch. Before each claim deletion the release guard reads the set, the drain
// pod and the claim from etcd and asks the release proof again (release-guard.ts): a claim deleted on a
// stale cache's word cannot be given back.
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { DRAIN_POD_ANNOTATION, DRAIN_POD_CONTAINERS_ANNOTATION, DRAINED_ANNOTATION, ENDED_DRAIN_POD_ANNOTATION, FAILURES_ANNOTATION, FINALIZER, ORPHANED_SINCE_ANNOTATION, LAST_FAILURE_ANNOTATION, RETRY_TOKEN_ANNOTATION } from '../planner/keys.ts';
import { drainedRecord, drainPodRecord } from '../planner/release-proof.ts';
import type { Action, ClaimAt } from '../planner/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { describeApiError, statusOf, type KubeApi } from '../kube/api.ts';
import type { ActionWriter } from './controller.ts';
import type { EventRecorder } from './events.ts';
import { dryRunVerdict, refusal, type TemplateVerdicts } from './template-verifier.ts';
import { ReleaseGuard, ReleaseRefusedError, StaleCacheError } from './release-guard.ts';

/** The writes a drain makes, and the quorum reads that guard releases. */
export type DrainApi = Pick<KubeApi, 'createPod' | 'deletePod' | 'deleteClaim' | 'annotateClaim' | 'setFinalizers' | 'getStatefulSet' | 'getPod' | 'getClaim'>;
type Writes = Pick<DrainApi, 'createPod' | 'deletePod' | 'deleteClaim' | 'annotateClaim' | 'setFinalizers'>;

export class NotLeaderError extends Error {
  constructor() {
    super('not the leader: refusing to write');
  }
}


/** A drain pod's create was refused because of its template; the verdict is kept and the next plan reports it. */
export class TemplateRefusedError extends Error {}

/**
 * What one execution of a plan carries from step to step: the reads that guard its releases, and each claim's
 * resourceVersion after this execution's own writes (a plan may write a claim twice, as a timed-out drain's
 * failure and then its forgetting; the second write is conditional on the first, not on the cache).
 */
interface Execution {
  guard: ReleaseGuard;
  versions: Map<string, string>;
}

export interface ExecutorOptions {
  dryRun: boolean;
  isLeader: () => boolean;
}

const REPORTED_LIMIT = 100_000;

export class Executor implements ActionWriter {
  /** Dedupe keys of Report actions already recorded by this process. */
  private readonly reported = new Set<string>();
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
  private readonly options: ExecutorOptions;

  constructor(api: DrainApi, events: Pick<EventRecorder, 'record'>, verdicts: TemplateVerdicts, metrics: Metrics, log: Logger, options: ExecutorOptions) {
    this.api = api;
    const leading = <A extends unknown[], R>(send: (...args: A) => Promise<R>) => (...args: A): Promise<R> =>
      (options.isLeader() ? send(...args) : Promise.reject(new NotLeaderError()));
    this.writes = {
      createPod: leading(api.createPod.bind(api)), deletePod: leading(api.deletePod.bind(api)), deleteClaim: leading(api.deleteClaim.bind(api)),
      annotateClaim: leading(api.annotateClaim.bind(api)), setFinalizers: leading(api.setFinalizers.bind(api)),
    };
    this.events = events;
    this.verdicts = verdicts;
    this.metrics = metrics;
    this.log = log;
    this.options = options;
  }

  async execute(set: V1StatefulSet, actions: Action[]): Promise<void> {
    const execution: Execution = { guard: new ReleaseGuard(this.api, set), versions: new Map() };
    for (let i = 0; i < actions.length; i++) {
      // Drain pods planned together (a Parallel set's scale-down) are created together, as the
      // StatefulSet controller creates a Parallel set's pods; everything else goes in order.
      let end = i + 1;
      while (actions[i]!.kind === 'CreateDrainPod' && actions[end]?.kind === 'CreateDrainPod') end++;
      const results = await Promise.allSettled(actions.slice(i, end).map((action) => this.step(set, action, execution)));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      i = end - 1;
    }
  }

  private async step(set: V1StatefulSet, action: Action, execution: Execution): Promise<void> {
    if (action.kind === 'Report' && this.reported.has(action.dedupeKey)) return;
    const fields = { statefulset: `${set.metadata?.namespace}/${set.metadata?.name}`, action: action.kind, ...describe(action) };
    // A dry-run create changes nothing, so the template check runs in --dry-run mode too.
    if (this.options.dryRun && action.kind !== 'VerifyTemplate') {
      this.log.info('dry run: would perform', fields);
      if (action.kind === 'Report') this.remember(action.dedupeKey);
      return;
    }
    if (!this.options.isLeader()) throw new NotLeaderError();
    try {
      await this.perform(set, action, execution);
    } catch (err) {
      if (err instanceof ReleaseRefusedError) {
        this.metrics.releasesRefused.inc();
        this.log.warn(err.message, fields);
        throw err;
      }
      if (err instanceof StaleCacheError || err instanceof NotLeaderError || err instanceof TemplateRefusedError) {
        this.log.info(err.message, fields);
        throw err;
      }
      const level = statusOf(err) === 409 ? 'info' : 'error';
      this.log[level]('action failed', { ...fields, status: statusOf(err), error: describeApiError(err) });
      throw err;
    }
  }

  /**
   * Annotates a claim as the plan saw it: refused (409) if it changed since, or is another claim of that name.
   * A 409 is thrown as the plan being stale: the next reconcile decides again from the claim as it is now.
   */
  private async annotate(namespace: string, claim: ClaimAt, annotations: Record<string, string | null>, execution: Execution): Promise<void> {
    const version = execution.versions.get(claim.uid) ?? claim.resourceVersion;
    const next = await this.writes.annotateClaim(namespace, claim.name, claim.uid, annotations, version);
    if (next) execution.versions.set(claim.uid, next);
  }

  private remember(key: string): void {
    if (this.reported.size >= REPORTED_LIMIT) this.reported.clear();
    this.reported.add(key);
  }

  private async perform(set: V1StatefulSet, action: Action, execution: Execution): Promise<void> {
    const namespace = set.metadata?.namespace ?? '';
    const setName = set.metadata?.name ?? '';
    const fields = { statefulset: `${namespace}/${setName}`, ...describe(action) };
    switch (action.kind) {
      case 'AddFinalizer':
      case 'RemoveFinalizer': {
        const others = (set.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER);
        const finalizers = action.kind === 'AddFinalizer' ? [...others, FINALIZER] : others;
        await this.writes.setFinalizers(namespace, setName, set.metadata?.resourceVersion ?? '', finalizers);
        this.log.info(action.kind === 'AddFinalizer' ? 'added finalizer' : 'removed finalizer', fields);
        return;
      }
      case 'CreateDrainPod': {
        // 409, the name is taken: our cache is behind (the pod exists already, or the stateful pod is still
        // there). Nothing was created; the watch event that follows triggers a fresh plan.
        await execution.guard.confirmOrphaned(action.ordinal);
        await execution.guard.confirmClaimsAsPlanned(action.claims);
        let created: V1Pod | undefined;
        try {
          if (!(await unless([409], async () => (created = await this.writes.createPod(action.pod))))) {
            this.log.info('drain pod name is taken; waiting for the cache to catch up', fields);
            return;
          }
        } catch (err) {
          // A template tried for the first time: its refusal is the template's verdict (reported by the next plan).
          const verdict = action.templateHash === undefined ? undefined : refusal(err);
          if (!verdict) throw err;
          this.verdicts.set(`${namespace}/${setName}`, action.templateHash!, verdict);
          throw new TemplateRefusedError(`the API server refused the first drain pod of a template found at start-up; nothing was created: ${describeApiError(err)}`);
        }
        if (action.templateHash !== undefined) this.verdicts.set(`${namespace}/${setName}`, action.templateHash, { state: 'accepted' });
        // The record that makes the pod provably ours. A crash before it leaves a pod that releases nothing
        // and is replaced once it has finished (see the planner's handling of unproven pods).
        const podUid = created?.metadata?.uid ?? '';
        const record = drainPodRecord(created ?? action.pod);
        try {
          for (const claim of action.claims) await this.annotate(namespace, claim, record, execution);
        } catch (err) {
          // A claim changed since the plan (409): the drain was decided on a stale view. The pod is withdrawn
          // rather than left unproven (it would drain, prove nothing and be drained again); the next plan decides afresh.
          if (statusOf(err) === 409 && podUid !== '') await unless([404, 409], () => this.writes.deletePod(namespace, action.pod.metadata?.name ?? '', podUid));
          throw err;
        }
        this.metrics.drainsStarted.inc();
        this.log.info('created drain pod', { ...fields, podUid });
        this.events.record(set, {
          type: 'Normal', reason: 'DrainStarted', action: 'CreateDrainPod',
          note: `created drain pod ${action.pod.metadata?.name} for claim(s) ${action.claims.map((c) => c.name).join(', ')} (attempt ${action.attempt})`,
          related: { kind: 'Pod', name: action.pod.metadata?.name ?? '' },
        });
        return;
      }
      case 'RecordDrained': {
        for (const ref of action.claims) {
          // Written on the claim as etcd has it, after the release proof held for it there (404: gone, nothing to record).
          const claim = await execution.guard.confirmDrained(action.ordinal, ref, action.drainPod);
          if (!claim) continue;
          const next = await this.writes.annotateClaim(namespace, ref.name, ref.uid, drainedRecord(action.drainPod.uid, action.generation), claim.metadata?.resourceVersion);
          if (next) execution.versions.set(ref.uid, next);
        }
        this.log.info('recorded the drain\'s success on its claims', fields);
        return;
      }
      case 'CreatePlaceholder': {
        // 409: the name is taken (the drain pod not gone yet, or a returning replica); the next plan sees which.
        if (!(await unless([409], () => this.writes.createPod(action.pod)))) {
          this.log.info('placeholder name is taken; waiting for the cache to catch up', fields);
          return;
        }
        this.log.info('created placeholder', fields);
        return;
      }
      case 'DeleteClaim': {
        const claim = await execution.guard.confirmDeletable(action.ordinal, action.claim, action.placeholder);
        // 404: already gone. A 409 (changed since it was read) is an error: the plan is tried again from a fresh look.
        if (!claim || !(await unless([404], () => this.writes.deleteClaim(namespace, action.claim.name, action.claim.uid, claim.metadata?.resourceVersion)))) {
          this.log.info('claim already gone or replaced; not deleting', fields);
          return;
        }
        this.metrics.claimsReleased.inc();
        this.log.info('released claim', fields);
        this.events.record(set, {
          type: 'Normal', reason: 'ClaimReleased', action: 'DeleteClaim',
          note: `deleted claim ${action.claim.name}, drained by a drain pod that succeeded`,
          related: { kind: 'PersistentVolumeClaim', name: action.claim.name, uid: action.claim.uid },
        });
        return;
      }
      case 'DeletePlaceholder': {
        await execution.guard.confirmNameMayBeFreed(action.ordinal);
        if (!(await unless([404, 409], () => this.writes.deletePod(namespace, action.pod.name, action.pod.uid)))) return;
        this.log.info('deleted placeholder', fields);
        if (action.reason === 'released') {
          this.events.record(set, {
            type: 'Normal', reason: 'DrainCompleted', action: 'DeletePlaceholder',
            note: `drain of ordinal ${action.ordinal} complete: its claims are released and the name ${action.pod.name} is free`,
            related: { kind: 'Pod', name: action.pod.name, uid: action.pod.uid },
          });
        }
        return;
      }
      case 'ForgetDrained': {
        for (const claim of action.claims) {
          const drained = claim.drainedPodUid;
          await unless([404], () => this.annotate(namespace, claim, {
            [DRAINED_ANNOTATION]: null, [DRAIN_POD_ANNOTATION]: null, [DRAIN_POD_CONTAINERS_ANNOTATION]: null, ...(drained ? { [ENDED_DRAIN_POD_ANNOTATION]: drained } : {}),
          }, execution));
        }
        this.log.info('called off a release: the claims are kept', fields);
        return;
      }
      case 'DeleteDrainPod': {
        const deleted = await unless([404, 409], () => this.writes.deletePod(namespace, action.pod.name, action.pod.uid));
        // Gone (404) or replaced (409) counts as ended too: the record must not outlive the pod it names. A
        // claim gone needs no forgetting; one changed since the plan (409) fails the plan, and the next forgets again.
        for (const claim of action.forget ?? []) {
          await unless([404], () => this.annotate(namespace, claim, {
            [DRAIN_POD_ANNOTATION]: null, [DRAIN_POD_CONTAINERS_ANNOTATION]: null, [ENDED_DRAIN_POD_ANNOTATION]: action.pod.uid,
          }, execution));
        }
        if (!deleted) return;
        this.log.info('deleted drain pod', fields);
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
        return;
      }
      case 'RecordFailure': {
        for (const claim of action.claims) {
          await this.annotate(namespace, claim, { [FAILURES_ANNOTATION]: String(action.failures), [LAST_FAILURE_ANNOTATION]: action.at }, execution);
        }
        this.metrics.drainsFailed.inc();
        return;
      }
      case 'ResetFailures': {
        for (const claim of action.claims) {
          await this.annotate(namespace, claim, { [FAILURES_ANNOTATION]: '0', [RETRY_TOKEN_ANNOTATION]: action.retryToken }, execution);
        }
        this.log.info('reset drain failure count', fields);
        return;
      }
      case 'VerifyTemplate': {
        const verdict = await dryRunVerdict(this.api, action.pod);
        this.verdicts.set(`${namespace}/${setName}`, action.templateHash, verdict);
        this.log.info('checked the drainer template with the API server', { ...fields, verdict: verdict.state });
        return;
      }
      case 'CorrectTime': {
        // 404: the claim is gone, nothing to correct.
        for (const claim of action.claims) await unless([404], () => this.annotate(namespace, claim, { [action.annotation]: action.at }, execution));
        return;
      }
      case 'MarkOrphaned': {
        // 404: the claim is gone; the next plan sees that.
        for (const claim of action.claims) await unless([404], () => this.annotate(namespace, claim, { [ORPHANED_SINCE_ANNOTATION]: action.at ?? null }, execution));
        return;
      }
      case 'Report': {
        this.remember(action.dedupeKey);
        // Counted with its report, which is made once per attempt (a stale cache may repeat the stop itself).
        if (action.reason === 'DrainTimedOut') this.metrics.drainTimeouts.inc();
        const log = action.type === 'Warning' ? this.log.warn.bind(this.log) : this.log.info.bind(this.log);
        log(action.message, { ...fields, reason: action.reason });
        this.events.record(set, { type: action.type, reason: action.reason, action: 'Drain', note: action.message });
        return;
      }
    }
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

function describe(action: Action): Record<string, unknown> {
  switch (action.kind) {
    case 'CreateDrainPod':
      return { ordinal: action.ordinal, pod: action.pod.metadata?.name, claims: action.claims.map((c) => c.name), attempt: action.attempt };
    case 'DeleteClaim':
      return { ordinal: action.ordinal, claim: action.claim.name, claimUid: action.claim.uid, placeholder: action.placeholder.name };
    case 'RecordDrained':
      return { ordinal: action.ordinal, claims: action.claims.map((c) => c.name), drainPod: action.drainPod.name, drainPodUid: action.drainPod.uid };
    case 'CreatePlaceholder':
      return { ordinal: action.ordinal, pod: action.pod.metadata?.name };
    case 'DeletePlaceholder':
      return { ordinal: action.ordinal, pod: action.pod.name, reason: action.reason };
    case 'ForgetDrained':
      return { ordinal: action.ordinal, claims: action.claims.map((c) => c.name) };
    case 'DeleteDrainPod':
      return { ordinal: action.ordinal, pod: action.pod.name, reason: action.reason };
    case 'RecordFailure':
    case 'ResetFailures':
    case 'CorrectTime':
    case 'MarkOrphaned':
      return { ordinal: action.ordinal, claims: action.claims.map((c) => c.name) };
    case 'Report':
      return { ordinal: action.ordinal, reason: action.reason };
    default:
      return {};
  }
}
