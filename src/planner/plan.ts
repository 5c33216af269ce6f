// The decisions: from one StatefulSet and the claims and pods around it, the actions to take now.
// Pure and deterministic; everything it needs (including the clock) is in the observation.
// Three steps: observe the set ordinal by ordinal (ordinals.ts), see drains that exist through, start new ones.
import { createHash } from 'node:crypto';
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { buildDrainPod, claimAt, claimSeen } from './drain-pod.ts';
import { failureState, notAfter, retryDueMs, timeMs } from './failures.ts';
import { drainDelay, drainTimeout, keepVolume, maxAttempts } from './settings.ts';
import { formatDuration } from './duration.ts';
import { claimLabels, claimName, claimTemplateNames, inRange, ordinalRange } from './identity.ts';
import {
  DELAY_ANNOTATION, DRAIN_POD_ANNOTATION, FINALIZER, INHERIT_SCHEDULING_ANNOTATION, KEEP_VOLUME_ANNOTATION, LAST_FAILURE_ANNOTATION,
  ORPHANED_SINCE_ANNOTATION,
  RESTORED_ANNOTATION, RETRY_ANNOTATION, RETRY_TOKEN_ANNOTATION, ROLE_DRAINER, ROLE_LABEL, ROLE_PLACEHOLDER, TEMPLATE_ANNOTATION,
  TIMEOUT_ANNOTATION,
} from './keys.ts';
import { observeOrdinals, type DrainPodView, type OrdinalView } from './ordinals.ts';
import { buildPlaceholder, FALLBACK_PLACEHOLDER_IMAGE } from './placeholder.ts';
import { drainedBy, generationOf, whyNotDrained } from './release-proof.ts';
import type { DrainerTemplate } from './template.ts';
import { wellFormedClaim, wellFormedPod } from './well-formed.ts';
import type {
  Action, ClaimAt, DeleteReason, EventReason, EventType, OrdinalStatus, Plan, PlannerSettings, SetObservation, VolumeKeep,
} from './types.ts';
import type { SetSummary } from '../set-summary.ts';

function hasFinalizer(set: V1StatefulSet): boolean {
  return set.metadata?.finalizers?.includes(FINALIZER) === true;
}

export function isManaged(set: V1StatefulSet): boolean {
  return set.metadata?.annotations?.[TEMPLATE_ANNOTATION] !== undefined && claimTemplateNames(set).length > 0;
}

/**
 * Whether a set needs planning at all: managed, still carrying our finalizer, or with pods named for its
 * ordinals that carry the drain role label (drains of a set whose annotation was removed are seen through).
 */
export function needsPlanning(set: V1StatefulSet, pods: V1Pod[]): boolean {
  if (isManaged(set) || hasFinalizer(set)) return true;
  return pods.some((p) => {
    const role = p.metadata?.labels?.[ROLE_LABEL];
    return role === ROLE_DRAINER || role === ROLE_PLACEHOLDER;
  });
}

/** Identifies what a template verdict was given for: the set, its template text and its claim templates. */
export function templateHash(set: V1StatefulSet): string {
  return createHash('sha256').update(set.metadata?.uid ?? '').update(set.metadata?.annotations?.[TEMPLATE_ANNOTATION] ?? '')
    .update(JSON.stringify(claimTemplateNames(set))).digest('hex');
}

/** The pod the API server is asked to admit: a drain pod of the first ordinal past the range, under a name no real pod has. */
function templateCheckPod(set: V1StatefulSet, template: DrainerTemplate): V1Pod {
  const ordinal = ordinalRange(set).end;
  const claims = new Map<string, V1PersistentVolumeClaim>(claimTemplateNames(set).map((t) => [t, {
    metadata: { name: claimName(t, set.metadata?.name ?? '', ordinal), uid: 'dry-run' },
  }]));
  const pod = buildDrainPod({ set, template, ordinal, claims, attempt: 1, retryToken: '' });
  pod.metadata!.name = `${pod.metadata!.name}-template-check`;
  return pod;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/**
 * States whose claims are not counted as orphaned: a look-alike's claims list is whatever its author wrote; a
 * terminating stateful pod's claim is not yet orphaned; a drained claim is being released; a replica on a
 * released claim is in range.
 */
const NOT_ORPHANED = new Set<OrdinalStatus['state']>(['succeeded', 'releasing', 'unproven', 'waiting-for-pod',
  'replica-on-released-claim']);

/** What a step decided for an ordinal's status: its state and reason, and the failure count when the step changed it. */
type Outcome = Pick<OrdinalStatus, 'state' | 'why'> & { failures?: number };

/** What every step reads, and where it writes its actions. */
class PlanContext {
  readonly actions: Action[] = [];
  readonly ordinals: OrdinalStatus[] = [];
  requeueAfterMs: number | undefined;
  invalidTemplate = false;
  readonly set: V1StatefulSet;
  readonly settings: PlannerSettings;
  readonly nowMs: number;
  readonly now: Date;
  readonly managed: boolean;
  readonly deleting: boolean;
  readonly hasFinalizer: boolean;
  readonly retryToken: string;
  readonly attempts: { value: number; problem?: string };
  readonly timeout: { value: number; problem?: string };
  readonly delay: { value: number; problem?: string };
  readonly keep: { value?: number; problem?: string };
  readonly placeholderImage: string;

  constructor(observation: SetObservation, settings: PlannerSettings) {
    const { template } = observation;
    // Stryker disable next-line OptionalChaining: an accepted template has a container (the schema's minItems), its image optional
    this.placeholderImage = (template.ok ? template.template.spec.containers[0]?.image : undefined) ?? FALLBACK_PLACEHOLDER_IMAGE;
    this.set = observation.set;
    this.settings = settings;
    this.now = observation.now;
    this.nowMs = observation.now.getTime();
    this.managed = isManaged(this.set);
    this.deleting = this.set.metadata?.deletionTimestamp !== undefined;
    this.hasFinalizer = hasFinalizer(this.set);
    this.retryToken = this.set.metadata?.annotations?.[RETRY_ANNOTATION] ?? '';
    this.attempts = maxAttempts(this.set, settings);
    this.timeout = drainTimeout(this.set, settings);
    this.delay = drainDelay(this.set, settings);
    this.keep = keepVolume(this.set, settings);
  }

  get setUid(): string {
    return this.set.metadata?.uid ?? '';
  }

  /** The plan as it stands, with the counts the set's gauges show. */
  plan(managed: boolean): Plan {
    const invalidTemplate = managed && this.invalidTemplate;
    const summary: SetSummary = { orphanedClaims: 0, delayed: 0, stuckDrains: 0, gaveUp: 0, held: 0, invalid: invalidTemplate };
    for (const o of this.ordinals) {
      if (!NOT_ORPHANED.has(o.state) && !inRange(this.set, o.ordinal)) summary.orphanedClaims += o.claims.length;
      if (o.state === 'delayed') summary.delayed += 1;
      if (o.state === 'unproven') summary.held += 1;
      if (o.state === 'gave-up') summary.gaveUp += 1;
    }
    // Stryker disable next-line ConditionalExpression: only a Report has the reason DrainStuck; the kind check is for the type
    for (const a of this.actions) if (a.kind === 'Report' && a.reason === 'DrainStuck') summary.stuckDrains += 1;
    return { managed, actions: this.actions, requeueAfterMs: this.requeueAfterMs, ordinals: this.ordinals, invalidTemplate, summary };
  }

  wakeIn(delay: number): void {
    this.requeueAfterMs = Math.max(1, Math.min(this.requeueAfterMs ?? Infinity, delay));
  }

  report(type: EventType, reason: EventReason, message: string, dedupeKey: string, ordinal?: number): void {
    this.actions.push({ kind: 'Report', type, reason, message, dedupeKey, ordinal });
  }

  status(status: OrdinalStatus): OrdinalStatus {
    this.ordinals.push(status);
    return status;
  }
}

export function planSet(observation: SetObservation, settings: PlannerSettings): Plan {
  const ctx = new PlanContext(observation, settings);
  const { set } = ctx;
  const { ordinals: views, contested } = observeOrdinals(set, observation.claims.filter(wellFormedClaim),
    observation.pods.filter(wellFormedPod), observation.rivals);
  for (const { claim, rival } of ctx.managed ? contested : []) {
    ctx.report('Warning', 'AmbiguousClaim',
      `claim ${claim.metadata?.name} could belong to this StatefulSet or to StatefulSet ${rival} (both spell its name); it is never ` +
        `drained or released: rename one set or its claim template`,
      `${ctx.setUid}/ambiguous/${claim.metadata?.uid}`);
  }

  // 1. Drain pods that exist are seen through, managed set or not: that only finishes work already begun.
  const drains = views.filter((v): v is OrdinalView & { drainPod: DrainPodView } => v.drainPod !== undefined);
  for (const v of drains) seeDrainThrough(ctx, v, v.drainPod);
  for (const v of views) reportReplicaOnReleasedClaim(ctx, v);
  const relabelled = views.filter((v) => seeRelabelledDrainPod(ctx, v));
  const releasing = views.filter((v) => !v.drainPod && seeReleaseThrough(ctx, v));

  if (!ctx.managed) {
    if (ctx.hasFinalizer) ctx.actions.push({ kind: 'RemoveFinalizer' });
    return ctx.plan(false);
  }

  // 2. New drains, for a managed set whose configuration allows them.
  if (ctx.attempts.problem)
    ctx.report('Warning', 'InvalidMaxAttempts', ctx.attempts.problem, `${ctx.setUid}/max-attempts/${shortHash(ctx.attempts.problem)}`);
  if (ctx.timeout.problem)
    ctx.report('Warning', 'InvalidDrainTimeout', ctx.timeout.problem, `${ctx.setUid}/timeout/${shortHash(ctx.timeout.problem)}`);
  if (ctx.delay.problem)
    ctx.report('Warning', 'InvalidDrainDelay', ctx.delay.problem, `${ctx.setUid}/delay/${shortHash(ctx.delay.problem)}`);
  const inherit = set.metadata?.annotations?.[INHERIT_SCHEDULING_ANNOTATION];
  if (inherit !== undefined && inherit !== 'true' && inherit !== 'false') {
    const problem = `${INHERIT_SCHEDULING_ANNOTATION}=${JSON.stringify(inherit)} is neither "true" nor "false"; drain pods take the ` +
      `set's scheduling constraints (the default)`;
    ctx.report('Warning', 'InvalidInheritScheduling', problem, `${ctx.setUid}/inherit/${shortHash(problem)}`);
  }
  const gate = templateGate(ctx, observation);

  if (!('blocked' in gate)) {
    correctFutureTimes(ctx, views);
    markOrphans(ctx, views);
  }

  const ordered = (set.spec?.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
  // OrderedReady: one drain at a time, as the StatefulSet removes one pod at a time.
  let busy = ordered && (drains.length > 0 || relabelled.length > 0 || releasing.length > 0);
  let pending = false;
  for (const v of views) {
    if (v.drainPod || v.inRange || v.claims.size === 0 || relabelled.includes(v) || releasing.includes(v)) continue;
    if (v.holder) {
      // The stateful pod is still terminating (or a stranger holds the name): the claim may still be in use.
      // OrderedReady: the ordinals below wait for it, as behind a drain (its drain comes next).
      busy ||= ordered;
      ctx.status({
        ordinal: v.ordinal, claims: claimNames(v), failures: failureState([...v.claims.values()]).failures, state: 'waiting-for-pod',
        why: `pod ${v.holder.metadata?.name} still exists (the replica is terminating); the drain starts once it is gone`,
      });
      continue;
    }
    const restored = [...v.claims.values()].find((c) => restoredForNow(ctx, c));
    if (restored) {
      // Made by `restore` for the next scale-up: draining it now would undo the restore. It holds no order.
      ctx.status({
        ordinal: v.ordinal, claims: claimNames(v), failures: 0, state: 'blocked',
        why: `claim ${restored.metadata?.name} was restored from a kept volume for a scale-up over this ordinal; it is not drained ` +
          `until the StatefulSet changes`,
      });
      continue;
    }
    const started = startDrain(ctx, v, gate, busy);
    pending ||= started.pending;
    busy ||= ordered && started.holdsOrder;
  }

  // The finalizer only once the API server has accepted the template: invalid input changes nothing but the
  // events it causes. It goes before any drain pod is created.
  if (!ctx.deleting && !ctx.hasFinalizer && 'template' in gate) ctx.actions.unshift({ kind: 'AddFinalizer' });
  if (ctx.deleting && ctx.hasFinalizer && drains.length === 0 && relabelled.length === 0 && releasing.length === 0 && !pending) {
    ctx.actions.push({ kind: 'RemoveFinalizer' });
  }
  return ctx.plan(true);
}

function giveUpWhy(ctx: PlanContext, failures: number): string {
  return `every attempt failed (${failures} of ${ctx.attempts.value}); the claims are kept. To retry: kubectl annotate ` +
    `statefulset ${ctx.set.metadata?.name} ${RETRY_ANNOTATION}=$(date +%s) --overwrite`;
}

/** Whether `restore` made the claim for this very set at its present generation (restore.ts `restoredMark`). */
function restoredForNow(ctx: PlanContext, claim: V1PersistentVolumeClaim): boolean {
  const [, setUid, generation] = claim.metadata?.annotations?.[RESTORED_ANNOTATION]?.split('/') ?? [];
  return setUid === ctx.setUid && generation === String(generationOf(ctx.set));
}

const orphanedSince = (claim: V1PersistentVolumeClaim) => timeMs(claim.metadata?.annotations?.[ORPHANED_SINCE_ANNOTATION]);

/**
 * The drain delay's clock, kept on the claims so that it survives restarts and leader changes: started for
 * every newly orphaned ordinal at once (OrderedReady orders the drains, not the waiting), stopped when the
 * set grows back over the ordinal, so that a later scale-down waits afresh.
 */
function markOrphans(ctx: PlanContext, views: OrdinalView[]): void {
  for (const v of views) {
    const claims = [...v.claims.values()];
    if (v.inRange) {
      const marked = claims.filter((c) => orphanedSince(c) !== undefined);
      if (marked.length > 0) ctx.actions.push({ kind: 'MarkOrphaned', ordinal: v.ordinal, claims: marked.map(claimAt) });
      continue;
    }
    if (ctx.delay.value <= 0 || v.drainPod || v.holder || failureState(claims).failures > 0) continue;
    const unmarked = claims.filter((c) => orphanedSince(c) === undefined);
    if (unmarked.length > 0)
      ctx.actions.push({ kind: 'MarkOrphaned', ordinal: v.ordinal, claims: unmarked.map(claimAt), at: ctx.now.toISOString() });
  }
}

/**
 * Each replica knows the API server's time to about a second (src/kube/server-clock.ts), so a time another
 * replica wrote may lie this little ahead of this one's now: it is read as now (notAfter), and not reported.
 */
export const FUTURE_TOLERANCE_MS = 5_000;

/**
 * A time on a claim later than now (beyond the replicas' tolerance) was not written by this controller (by
 * hand, or by an older version whose own clock ran ahead): read as now in this plan, and rewritten as now so
 * that the wait it starts ends.
 */
function correctFutureTimes(ctx: PlanContext, views: OrdinalView[]): void {
  for (const v of views) {
    if (v.inRange) continue;
    for (const key of [ORPHANED_SINCE_ANNOTATION, LAST_FAILURE_ANNOTATION]) {
      const future = [...v.claims.values()]
        .filter((c) => (timeMs(c.metadata?.annotations?.[key]) ?? 0) > ctx.nowMs + FUTURE_TOLERANCE_MS);
      if (future.length === 0) continue;
      const at = ctx.now.toISOString();
      ctx.actions.push({ kind: 'CorrectTime', ordinal: v.ordinal, claims: future.map(claimAt), annotation: key, at });
      ctx.report('Warning', 'TimeInFuture',
        `${key} on claim(s) ${future.map((c) => c.metadata?.name).join(', ')} is later than now; it is rewritten as ${at}`,
        `${ctx.setUid}/future/${future.map((c) => `${c.metadata?.uid}=${c.metadata?.annotations?.[key]}`).join(',')}`, v.ordinal);
    }
  }
}

/** When a delayed drain may start: the delay after the latest mark (now, for claims being marked in this plan). */
function delayedUntil(ctx: PlanContext, claims: V1PersistentVolumeClaim[]): number {
  const marks = claims.map((c) => notAfter(orphanedSince(c), ctx.nowMs));
  return Math.max(...marks) + ctx.delay.value;
}

function claimNames(v: OrdinalView): string[] {
  return [...v.claims.values()].map((c) => c.metadata?.name ?? '');
}

/**
 * Whether drains may start: with the template (its verdict is in; `untried`: found at start-up on a set that
 * already carries our finalizer, so the first drain pod's create is the API server's check), after asking the
 * API server about it first (`check`), or not at all (the set's configuration forbids it; reported).
 */
type TemplateGate = { template: DrainerTemplate; untried?: boolean } | { check: Action } | { blocked: string };

function templateGate(ctx: PlanContext, observation: SetObservation): TemplateGate {
  const { set, setUid } = ctx;
  const { template, templateVerdict: verdict } = observation;
  const blockers: string[] = [];
  if (set.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete') {
    blockers.push('whenScaled is Delete');
    ctx.report('Warning', 'RetentionConflict',
      'persistentVolumeClaimRetentionPolicy.whenScaled is Delete: Kubernetes deletes the claims of removed replicas together with their ' +
        'pods, before any drain can run; set whenScaled to Retain to have them drained',
      `${setUid}/retention`);
  }
  const problems = !template.ok ? template.problems : verdict.state === 'rejected' ? [verdict.problem] : [];
  if (problems.length > 0) {
    blockers.push('the drainer template is invalid (see the InvalidDrainerTemplate event)');
    ctx.invalidTemplate = true;
    const message = `drainer pod template is invalid, no drain pods will be created: ${problems.join('; ')}`;
    ctx.report('Warning', 'InvalidDrainerTemplate', message,
      `${setUid}/template/${shortHash(set.metadata?.annotations?.[TEMPLATE_ANNOTATION] ?? '')}/${shortHash(message)}`);
  }
  if (Object.keys(claimLabels(set)).length === 0) {
    blockers.push('the selector has no matchLabels');
    ctx.report('Warning', 'UnprovableClaims', 'spec.selector has no matchLabels, so claims cannot be proven to belong to this ' +
      'StatefulSet; nothing will be drained', `${setUid}/selector`);
  }
  const foreground = set.metadata?.finalizers?.includes('foregroundDeletion') === true;
  if (ctx.deleting && foreground) blockers.push('the StatefulSet is being deleted in the foreground');
  if (blockers.length > 0 || !template.ok) return { blocked: `no drain can start: ${blockers.join('; ')}` };
  if (verdict.state !== 'unchecked') return { template: template.template };
  // One found at start-up on a set with our finalizer was accepted before: it is not dry-run (a restart must
  // not ask about every template in the cluster); the first real create answers the same question, and a
  // refusal is reported the same way.
  // (A managed set has the annotation, so an absent atStartup never equals it.)
  const foundAtStartup = verdict.atStartup === set.metadata?.annotations?.[TEMPLATE_ANNOTATION];
  if (foundAtStartup && ctx.hasFinalizer) return { template: template.template, untried: true };
  // A new or changed template, or one annotated while the controller was away (no finalizer yet), is checked
  // at once: a mistake is reported before it matters, and the accepted set gets its finalizer before any
  // scale-down needs it (deleting the set then drains it too, and a storm of drains writes no finalizers).
  const check: Action = { kind: 'VerifyTemplate', pod: templateCheckPod(set, template.template), templateHash: templateHash(set) };
  ctx.actions.push(check);
  // The verdict comes back in the next observation: plan again as soon as it is in.
  ctx.wakeIn(1);
  return { check };
}

/** An orphaned ordinal with no pod: start its drain, or say why not. */
function startDrain(ctx: PlanContext, v: OrdinalView, gate: TemplateGate, busy: boolean): { pending: boolean; holdsOrder: boolean } {
  const claims = [...v.claims.values()];
  const failure = failureState(claims);
  const status = ctx.status({ ordinal: v.ordinal, claims: claimNames(v), failures: failure.failures, state: 'pending-drain',
    why: 'the drain pod is being created' });
  if ('blocked' in gate || busy) {
    status.state = 'blocked';
    status.why = 'blocked' in gate ? gate.blocked : 'OrderedReady: waits until the drain of a higher ordinal is over';
    // Stryker disable next-line ObjectLiteral: {} reads as false, false
    return {
      pending: false,
      // Stryker disable next-line BooleanLiteral: changes nothing: a blocked gate blocks every ordinal, and a busy set is busy already
      holdsOrder: false,
    };
  }
  if (failure.token !== ctx.retryToken) {
    status.why = 'a retry was requested: the failure count is being reset';
    ctx.actions.push({ kind: 'ResetFailures', ordinal: v.ordinal, claims: claims.map(claimAt), retryToken: ctx.retryToken });
    return { pending: true, holdsOrder: true };
  }
  // The delay comes before a first attempt only (a retry waits out its backoff); a zero delay ends at the mark.
  if (failure.failures === 0) {
    const due = delayedUntil(ctx, claims);
    if (ctx.nowMs < due) {
      status.state = 'delayed';
      status.startsAt = new Date(due).toISOString();
      status.why = `waiting out ${DELAY_ANNOTATION}: the drain starts at ${status.startsAt} unless the StatefulSet grows back over it`;
      ctx.wakeIn(due - ctx.nowMs);
      ctx.report('Normal', 'DrainDelayed', `ordinal ${v.ordinal} is orphaned; its drain starts at ${status.startsAt} ` +
        `(${DELAY_ANNOTATION}) unless the StatefulSet grows back over it first`,
        // Once per scale (a scale changes the set's generation), however often a stale cache re-marks the claims.
        `${ctx.setUid}/delayed/${claims.map((c) => c.metadata?.uid).join(',')}/${ctx.set.metadata?.generation}`, v.ordinal);
      return { pending: true, holdsOrder: true };
    }
  }
  if (failure.failures >= ctx.attempts.value) {
    // OrderedReady halts on a drain that gave up, as the StatefulSet halts on a broken pod.
    status.state = 'gave-up';
    status.why = giveUpWhy(ctx, failure.failures);
    return { pending: false, holdsOrder: true };
  }
  if (failure.failures > 0) {
    const due = retryDueMs(failure, ctx.settings, ctx.nowMs);
    if (ctx.nowMs < due) {
      status.state = 'backoff';
      status.why = `attempt ${failure.failures} failed; the next attempt starts at ${new Date(due).toISOString()}`;
      ctx.wakeIn(due - ctx.nowMs);
      return { pending: true, holdsOrder: true };
    }
  }
  if ('check' in gate) {
    status.why = 'the API server is checking the drainer template; the drain starts once it agrees';
    return { pending: true, holdsOrder: true };
  }
  const attempt = failure.failures + 1;
  const pod = buildDrainPod({ set: ctx.set, template: gate.template, ordinal: v.ordinal, claims: v.claims, attempt,
    retryToken: ctx.retryToken });
  ctx.actions.push({ kind: 'CreateDrainPod', ordinal: v.ordinal, pod, claims: claims.map(claimAt), attempt,
    ...(gate.untried ? { templateHash: templateHash(ctx.set) } : {}) });
  return { pending: true, holdsOrder: true };
}

/**
 * A replica of an ordinal in range while a claim of that ordinal, released by this controller after a drain, is
 * still being deleted: the StatefulSet controller decided on a cache that still showed the claim (kubernetes
 * #74374) and started the replica on it. The claim goes when the pod next stops, with whatever it wrote.
 */
function reportReplicaOnReleasedClaim(ctx: PlanContext, v: OrdinalView): void {
  if (!v.inRange || !v.holder) return;
  const released = v.deletingClaims.filter((c) => c.metadata?.annotations?.[DRAIN_POD_ANNOTATION] !== undefined);
  if (released.length === 0) return;
  const names = released.map((c) => c.metadata?.name ?? '');
  const pod = v.holder.metadata?.name;
  ctx.status({
    ordinal: v.ordinal, claims: names, failures: 0, state: 'replica-on-released-claim',
    why: `pod ${pod} runs on claim(s) ${names.join(', ')}, released after a drain and still being deleted: what it ` +
      `writes is lost when it stops; `
      + `delete pod ${pod} so that the StatefulSet recreates it on a fresh claim`,
  });
  ctx.report('Warning', 'ReplicaOnReleasedClaim',
    `pod ${pod} started on claim(s) ${names.join(', ')}, which this controller released after a drain and which are still being deleted; `
    + `they disappear when the pod next stops, with anything written since: delete pod ${pod} now so that the StatefulSet ` +
      `recreates it on a fresh claim`,
    `${ctx.setUid}/replica-on-released/${released.map((c) => c.metadata?.uid).join(',')}/${v.holder.metadata?.uid ?? pod}`, v.ordinal);
}

/**
 * A pod holding the ordinal's name without the drain labels, whose UID a claim of the ordinal records: this
 * controller's drain pod, relabelled since by someone who may patch pods (role or set label, or the owner
 * reference, changed). Left alone it would look like a terminating replica for ever. It proves nothing: it is
 * reported, holds the ordinal while it runs, and once finished is deleted and forgotten, so a new drain starts.
 */
function seeRelabelledDrainPod(ctx: PlanContext, v: OrdinalView): boolean {
  const pod = v.holder;
  const uid = pod?.metadata?.uid;
  if (!pod || !uid) return false;
  const recordedOn = [...v.claims.values()].filter((c) => c.metadata?.annotations?.[DRAIN_POD_ANNOTATION] === uid);
  if (recordedOn.length === 0) return false;
  const name = pod.metadata?.name ?? '';
  const phase = pod.status?.phase ?? 'Pending';
  const finished = phase === 'Succeeded' || phase === 'Failed';
  const replace = ctx.managed && pod.metadata?.deletionTimestamp === undefined && finished;
  ctx.status({
    ordinal: v.ordinal, claims: claimNames(v), drainPod: { name, phase, attempt: 0 },
    failures: failureState(recordedOn).failures, state: 'unproven',
    why: `drain pod ${name} no longer carries its drain labels or owner reference: it releases nothing, ` +
      (replace ? 'and is deleted now that it has finished, so that a new drain starts'
        : finished ? 'and has finished' : 'holds the ordinal while it runs, and is replaced once it has finished'),
  });
  ctx.report('Warning', 'DrainPodRelabelled',
    `drain pod ${name}, created by this controller for ordinal ${v.ordinal}, no longer carries its drain labels or its owner reference ` +
      `(someone changed them); `
    + `whatever it does proves no drain: its claims are kept, and ` +
      (finished ? `its ${phase} releases nothing`
        : `it holds ordinal ${v.ordinal} while it is ${phase}, and is replaced once it has finished`),
    `${uid}/relabelled`, v.ordinal);
  if (replace) {
    ctx.actions.push({ kind: 'DeleteDrainPod', ordinal: v.ordinal, pod: { name, uid }, reason: 'unproven',
      forget: recordedOn.map(claimAt) });
  }
  return true;
}

/**
 * An ordinal whose drain succeeded and whose drain pod is gone: its claims carry the drained record, and a
 * placeholder takes the name before they are deleted, so that no replica can start on a claim being deleted;
 * it goes once they are gone. A set that grew back or changed meanwhile calls the release off (the claims
 * stay, a new drain follows if the ordinal is still orphaned). False when the ordinal has neither.
 */
function seeReleaseThrough(ctx: PlanContext, v: OrdinalView): boolean {
  const { ordinal, placeholder } = v;
  const drained = [...v.claims.values()].filter((c) => drainedBy(c) !== undefined);
  if (!placeholder && drained.length === 0) return false;
  const names = [...drained, ...v.deletingClaims].map((c) => c.metadata?.name ?? '');
  const status = ctx.status({ ordinal, claims: names, failures: 0, state: 'releasing', why: '' });
  if (v.holder) {
    // Another pod took the name before the placeholder did (the returning replica, or a stranger): whatever
    // it does with the claims now is not drained. They stay; a new drain follows once the pod is gone.
    status.state = 'cancelled';
    // (One pod holds a name: with a holder there is no placeholder, so the claims are drained ones.)
    status.why = `pod ${v.holder.metadata?.name} took the name before the claims were released; they are kept`;
    ctx.actions.push({ kind: 'ForgetDrained', ordinal, claims: drained.map(forgettable) });
    return true;
  }
  const placeholderRef = placeholder && { name: placeholder.metadata?.name ?? '', uid: placeholder.metadata?.uid ?? '' };
  if (v.deletingClaims.length > 0) {
    // Released claims still being deleted: the name stays taken until they are gone, whatever the set does.
    status.why = `claim(s) ${v.deletingClaims.map((c) => c.metadata?.name).join(', ')} are being deleted; `
      + `${placeholder ? `placeholder ${placeholder.metadata?.name} holds` : 'nothing holds'} the name until they are gone`;
    return true;
  }
  const stale = drained.filter((c) => whyNotDrained(ctx.set, ordinal, c) !== undefined);
  if (drained.length > 0 && (v.inRange || stale.length > 0)) {
    // The set grew back over the ordinal, or changed since the drain succeeded: the release is called off.
    status.state = 'cancelled';
    status.why = v.inRange ? 'the StatefulSet grew back over this ordinal before its claims were released; they stay with the replica'
      : 'the StatefulSet changed after the drain succeeded; the claims are kept and drained again';
    if (v.inRange) {
      ctx.report('Normal', 'DrainCancelled', `the StatefulSet grew back over ordinal ${ordinal} before its drained claims were released; ` +
        `they are kept for the returning replica`,
        `${drained.map((c) => c.metadata?.uid).join(',')}/cancelled-release`, ordinal);
    }
    ctx.actions.push({ kind: 'ForgetDrained', ordinal, claims: drained.map(forgettable) });
    if (placeholderRef && placeholder?.metadata?.deletionTimestamp === undefined) {
      ctx.actions.push({ kind: 'DeletePlaceholder', ordinal, pod: placeholderRef, reason: 'cancelled' });
    }
    return true;
  }
  if (!placeholderRef) {
    status.why = 'the drain succeeded; a placeholder takes the name before its claims are released';
    ctx.actions.push({ kind: 'CreatePlaceholder', ordinal, pod: buildPlaceholder(ctx.set, ctx.placeholderImage, ordinal) });
    return true;
  }
  // Being deleted by someone else: no claim is deleted without it; a new one takes the name once it is gone.
  if (placeholder?.metadata?.deletionTimestamp !== undefined) {
    status.why = drained.length > 0
      ? `placeholder ${placeholderRef.name} is being deleted, not by this controller; no claim is released until a new one holds the name`
      : `the claims are released; placeholder ${placeholderRef.name} is being removed`;
    return true;
  }
  if (drained.length > 0 && ctx.keep.problem !== undefined) {
    // The set asked for its volumes to be kept, and for how long cannot be read: nothing is released unkept.
    status.why = `claim(s) ${names.join(', ')} are drained; their release waits for a valid ${KEEP_VOLUME_ANNOTATION}`;
    ctx.report('Warning', 'InvalidKeepVolume', ctx.keep.problem, `${ctx.setUid}/keep/${shortHash(ctx.keep.problem)}`);
    return true;
  }
  if (drained.length > 0) {
    status.why = `placeholder ${placeholderRef.name} holds the name; claim(s) ${names.join(', ')} are being released`;
    for (const claim of drained) {
      ctx.actions.push({ kind: 'DeleteClaim', ordinal, claim: claimSeen(claim), placeholder: placeholderRef, ...keepOf(ctx, claim) });
    }
    return true;
  }
  status.why = `the claims are released; placeholder ${placeholderRef.name} is being removed`;
  ctx.actions.push({ kind: 'DeletePlaceholder', ordinal, pod: placeholderRef, reason: 'released' });
  return true;
}

/** The keep of a drained claim's volume, when the set keeps them. */
function keepOf(ctx: PlanContext, claim: V1PersistentVolumeClaim): { keep?: VolumeKeep } {
  const keepMs = ctx.keep.value ?? 0;
  if (keepMs === 0) return {};
  // Only drained claims are released (the caller's filter).
  return { keep: { drainPodUid: drainedBy(claim)!.podUid, at: ctx.now.toISOString(), until: new Date(ctx.nowMs + keepMs).toISOString() } };
}

/** A drained claim, and the drain pod to keep as ended once its record is removed. */
function forgettable(claim: V1PersistentVolumeClaim): ClaimAt & { drainedPodUid: string } {
  // Only drained claims are forgotten with their pod (the callers' filter).
  return { ...claimAt(claim), drainedPodUid: drainedBy(claim)!.podUid };
}

/** What a proven drain pod's phase says of its ordinal, unless a step below decides otherwise. */
function stateOfPhase(phase: string): OrdinalStatus['state'] {
  return phase === 'Succeeded' ? 'succeeded' : phase === 'Failed' ? 'failed' : phase === 'Running' ? 'draining' : 'pending-drain';
}

/** A pod with this set's drain labels: finish, retry, cancel or report it. */
function seeDrainThrough(ctx: PlanContext, v: OrdinalView, d: DrainPodView): void {
  const { ordinal } = v;
  const status = ctx.status({
    ordinal, claims: d.listedClaims, drainPod: { name: d.ref.name, phase: d.phase, attempt: d.attempt },
    failures: failureState(d.releasableClaims).failures, state: stateOfPhase(d.phase), why: '',
  });
  if (!d.proven && d.ended) {
    // Our own pod, whose drain this controller ended (a scale-up, a failure, a timeout); the pod cache has
    // not seen its deletion yet. Nothing to report: delete it again (404 if it is gone).
    status.state = 'cancelled';
    status.why = `the drain of pod ${d.ref.name} ended without a release; the pod is being removed`;
    if (ctx.managed && !d.terminating) ctx.actions.push({ kind: 'DeleteDrainPod', ordinal, pod: d.ref, reason: 'ended' });
    return;
  }
  if (d.modified) {
    status.state = 'unproven';
    const finished = d.phase === 'Succeeded' || d.phase === 'Failed';
    const replace = ctx.managed && !d.terminating && finished;
    status.why = `the containers of drain pod ${d.ref.name} were changed after the controller created it: it releases nothing, and ` +
      (replace ? 'is replaced by a new drain pod now that it has finished' : finished ? `has ${d.phase}` : 'is replaced once it finishes');
    ctx.report('Warning', 'DrainPodModified',
      `the containers of drain pod ${d.ref.name} (images, commands or mounts) are no longer the ones this controller created it with; ` +
        `whatever it does proves no drain: `
      + 'its claims are kept, and it is replaced by a new drain pod once it has finished', `${d.ref.uid}/modified`, ordinal);
    if (replace) endDrain(ctx, ordinal, d, 'unproven');
    return;
  }
  if (!d.proven) {
    status.state = 'unproven';
    status.why = `pod ${d.ref.name} carries the drain labels but no claim records it as this controller's drain pod: ` +
      (d.phase === 'Succeeded' || d.phase === 'Failed' ? `its ${d.phase} releases nothing`
        : 'it releases nothing, and holds the ordinal until it finishes');
    handleUnproven(ctx, v, d, status);
    return;
  }
  if (d.terminating) {
    status.why = `drain pod ${d.ref.name} (${d.phase}) is being deleted`;
    return;
  }

  if (v.inRange && (d.phase === 'Succeeded' || (!ctx.deleting && d.phase !== 'Running'))) {
    // The set grew back over the ordinal: its claims belong to the returning replica, whatever the drain did.
    cancelForReplica(ctx, ordinal, d, status, '');
    return;
  }
  if (d.phase === 'Succeeded') {
    // Its success is written on its claims, then it goes (a claim is deleted only once no pod uses it); the
    // claims are released next, under a placeholder (seeReleaseThrough).
    status.why = `drain pod ${d.ref.name} succeeded; its claims are released next`;
    ctx.report('Normal', 'DrainSucceeded', `drain pod ${d.ref.name} succeeded; releasing its claims`, `${d.ref.uid}/succeeded`, ordinal);
    const unrecorded = d.releasableClaims.filter((c) => drainedBy(c)?.podUid !== d.ref.uid);
    if (unrecorded.length > 0) {
      ctx.actions.push({ kind: 'RecordDrained', ordinal, claims: unrecorded.map(claimSeen), drainPod: d.ref,
        generation: generationOf(ctx.set) });
    }
    const created = timeMs(d.pod.metadata?.creationTimestamp);
    ctx.actions.push({ kind: 'DeleteDrainPod', ordinal, pod: d.ref, reason: 'drained',
      drainSeconds: created === undefined ? undefined : (ctx.nowMs - created) / 1000 });
    return;
  }
  if (d.phase === 'Failed') {
    Object.assign(status, failedDrain(ctx, ordinal, d));
    return;
  }
  status.why = d.phase === 'Running' ? `drain pod ${d.ref.name} is running (attempt ${d.attempt})`
    : `drain pod ${d.ref.name} is Pending: not scheduled or not started yet`;
  // A running drain is not cut short by a scale-up (it may be mid-copy); it releases nothing once it ends.
  if (v.inRange) status.why += '; the StatefulSet grew back over this ordinal: its replica starts once the drain pod has ended, ' +
    'on the same claims';
  if (pastTimeout(ctx, d)) {
    // Stopped either way; over a returning replica's claims that is no failure of a drain of them.
    if (v.inRange) cancelForReplica(ctx, ordinal, d, status, ` and passed its deadline of ${formatDuration(ctx.timeout.value)}`);
    else Object.assign(status, timedOut(ctx, ordinal, d));
    return;
  }
  reportIfStuck(ctx, ordinal, d);
}

/** Ends a drain over which the set grew back: the claims stay, unreleased and without a failure, for the returning replica. */
function cancelForReplica(ctx: PlanContext, ordinal: number, d: DrainPodView, status: OrdinalStatus, how: string): void {
  status.state = 'cancelled';
  status.why = `the StatefulSet grew back over this ordinal while drain pod ${d.ref.name} was ${d.phase}${how}: the drain pod is ` +
    'removed and the claims stay with the replica';
  ctx.report('Normal', 'DrainCancelled', `the StatefulSet grew back over ordinal ${ordinal} while drain pod ${d.ref.name} was ` +
    `${d.phase}${how}, before its claims were released; they are kept for the returning replica`, `${d.ref.uid}/cancelled`, ordinal);
  endDrain(ctx, ordinal, d, 'scale-up');
}

/**
 * Deletes a drain pod whose drain ends without a release, and forgets it on its claims: a record left behind
 * would let that pod, seen later in a stale cache, prove a drain of data written since (by a returning replica).
 */
function endDrain(ctx: PlanContext, ordinal: number, d: DrainPodView, reason: Exclude<DeleteReason, 'drained'>): void {
  const forget = d.recordedOn.map(claimAt);
  ctx.actions.push({ kind: 'DeleteDrainPod', ordinal, pod: d.ref, reason, ...(forget.length > 0 ? { forget } : {}) });
}

/** Whether a Pending or Running attempt has outlived the drain timeout (and when to look again if not). */
function pastTimeout(ctx: PlanContext, d: DrainPodView): boolean {
  const created = timeMs(d.pod.metadata?.creationTimestamp);
  if (ctx.timeout.value <= 0 || created === undefined) return false;
  const age = ctx.nowMs - created;
  if (age >= ctx.timeout.value) return true;
  ctx.wakeIn(ctx.timeout.value - age);
  return false;
}

/** An attempt past its timeout has failed, as an exit 1 would: recorded on its claims (so backoff and max attempts apply), then stopped. */
function timedOut(ctx: PlanContext, ordinal: number, d: DrainPodView): Outcome {
  const claims = d.releasableClaims;
  const limit = `${TIMEOUT_ANNOTATION} of ${formatDuration(ctx.timeout.value)}`;
  const recorded = failureState(claims).failures;
  const failures = Math.max(d.attempt, recorded);
  if (claims.length > 0 && recorded < d.attempt) {
    ctx.actions.push({ kind: 'RecordFailure', ordinal, claims: claims.map(claimAt), failures: d.attempt, at: ctx.now.toISOString() });
    const last = d.attempt >= ctx.attempts.value;
    ctx.report('Warning', 'DrainTimedOut',
      `drain pod ${d.ref.name} passed its deadline of ${formatDuration(ctx.timeout.value)} (attempt ${d.attempt} ` +
        `of ${ctx.attempts.value}); it is stopped and its claims are kept` +
      (last ? `; giving up: set annotation ${RETRY_ANNOTATION} to a new value to retry` : '; it will be retried'),
      `${d.ref.uid}/timeout`, ordinal);
  }
  endDrain(ctx, ordinal, d, 'timeout');
  if (claims.length === 0) {
    return { state: 'cancelled', why: `attempt ${d.attempt} passed its ${limit}, and its claims are being deleted or gone: nothing is ` +
      'left to drain; the pod is removed' };
  }
  if (failures >= ctx.attempts.value) return { state: 'gave-up', why: giveUpWhy(ctx, failures), failures };
  return { state: 'failed', failures, why: `attempt ${d.attempt} passed its ${limit}: it is stopped and will be retried` };
}

/** How long a pod with drain labels may go unproven before it is reported as holding its ordinal. */
const UNPROVEN_GRACE_MS = 30_000;

/**
 * A pod that looks like a drain pod of the set but is not proven to be one this controller created for the
 * ordinal: a look-alike anyone who may create pods can make, or the controller's own pod whose record a crash
 * prevented. It never releases or records anything. While it runs it holds the ordinal like any pod of that
 * name; once it has finished, a managed set's controller deletes it (UID precondition) so a proven drain can
 * start. Sets that are not managed are left alone.
 */
function handleUnproven(ctx: PlanContext, v: OrdinalView, d: DrainPodView, status: OrdinalStatus): void {
  if (!ctx.managed || d.terminating) return;
  // A pod not yet finished is judged only once it is past its first seconds: the controller's own new drain
  // pod is unproven until its record reaches the claim cache, and a pod that will start is Pending at first.
  const age = ctx.nowMs - (timeMs(d.pod.metadata?.creationTimestamp) ?? ctx.nowMs);
  const young = d.phase !== 'Succeeded' && d.phase !== 'Failed' && age < UNPROVEN_GRACE_MS;
  if (young) {
    ctx.wakeIn(UNPROVEN_GRACE_MS - age);
    return;
  }
  if (d.phase === 'Pending' && v.claims.size === 0) {
    // No claim of its ordinal exists (it was made for claims already released, on a cache behind the
    // release): its volumes can never be mounted, so it would hold the ordinal's name for ever.
    ctx.report('Warning', 'UnprovenDrainPod',
      `pod ${d.ref.name} carries this StatefulSet's drain pod labels but no claim of ordinal ${v.ordinal} exists any more; it can ` +
        `never start, and is deleted`,
      `${d.ref.uid}/unproven`, v.ordinal);
    status.why = `pod ${d.ref.name} carries the drain labels but no claim of ordinal ${v.ordinal} exists any more: it can never start, ` +
      `and is deleted`;
    endDrain(ctx, v.ordinal, d, 'nothing-to-drain');
    return;
  }
  if (d.phase !== 'Succeeded' && d.phase !== 'Failed') {
    ctx.report('Warning', 'UnprovenDrainPod',
      `pod ${d.ref.name} carries this StatefulSet's drain pod labels but no claim of ordinal ${v.ordinal} records it as the drain pod ` +
        `this controller created;`
      + ` while it is ${d.phase} it holds ordinal ${v.ordinal} (no drain can start, and the StatefulSet cannot use the name); nothing ` +
        `it does releases anything`,
      `${d.ref.uid}/holding`, v.ordinal);
    return;
  }
  ctx.report('Warning', 'UnprovenDrainPod',
    `pod ${d.ref.name} carries this StatefulSet's drain pod labels but no claim of ordinal ${v.ordinal} records it as the drain pod ` +
      `this controller created` +
    ` (a pod made by someone else, or a record lost to a crash); its ${d.phase} releases nothing, and it is deleted`,
    `${d.ref.uid}/unproven`, v.ordinal);
  status.why = `pod ${d.ref.name} carries the drain labels but no claim records it as this controller's drain pod: its ${d.phase} ` +
    `releases nothing, and it is deleted`;
  endDrain(ctx, v.ordinal, d, 'unproven');
}

/** A proven drain pod that Failed: record the failure, then retry after the backoff, or give up. */
function failedDrain(ctx: PlanContext, ordinal: number, d: DrainPodView): Outcome {
  const claims = d.releasableClaims;
  const failure = failureState(claims);
  const podToken = d.pod.metadata?.annotations?.[RETRY_TOKEN_ANNOTATION] ?? '';
  const failed = `attempt ${d.attempt} failed (drain pod ${d.ref.name})`;
  const retried = { state: 'failed', why: `${failed}; it will be retried` } as const;
  if (claims.length === 0) {
    // Its claims were deleted by someone else: there is nothing left to drain or to retry.
    endDrain(ctx, ordinal, d, 'nothing-to-drain');
    return { state: 'cancelled', why: `${failed}, and its claims are being deleted or gone: nothing is left to drain; the pod is removed` };
  }
  if (failure.token !== ctx.retryToken) {
    ctx.actions.push({ kind: 'ResetFailures', ordinal, claims: claims.map(claimAt), retryToken: ctx.retryToken });
    return retried;
  }
  if (podToken !== ctx.retryToken) {
    endDrain(ctx, ordinal, d, 'superseded');
    return retried;
  }
  if (failure.failures < d.attempt) {
    ctx.actions.push({ kind: 'RecordFailure', ordinal, claims: claims.map(claimAt), failures: d.attempt, at: ctx.now.toISOString() });
    const last = d.attempt >= ctx.attempts.value;
    ctx.report('Warning', 'DrainFailed',
      `drain pod ${d.ref.name} failed (attempt ${d.attempt} of ${ctx.attempts.value}); its claims are kept` +
      (last ? `; giving up: set annotation ${RETRY_ANNOTATION} to a new value to retry` : '; it will be retried'),
      `${d.ref.uid}/failed`, ordinal);
    return last ? { state: 'gave-up', why: giveUpWhy(ctx, d.attempt), failures: d.attempt } : { ...retried, failures: d.attempt };
  }
  if (failure.failures >= ctx.attempts.value) return { state: 'gave-up', why: giveUpWhy(ctx, failure.failures) };
  const due = retryDueMs(failure, ctx.settings, ctx.nowMs);
  if (ctx.nowMs < due) {
    ctx.wakeIn(due - ctx.nowMs);
    return { state: 'backoff', why: `${failed}; the next attempt starts at ${new Date(due).toISOString()}` };
  }
  endDrain(ctx, ordinal, d, 'retry');
  return retried;
}

/** Pending or Running: report a drain that exceeds its deadline, and leave it in place. */
function reportIfStuck(ctx: PlanContext, ordinal: number, d: DrainPodView): void {
  const running = d.phase === 'Running';
  const started = running ? timeMs(d.pod.status?.startTime) ?? timeMs(d.pod.metadata?.creationTimestamp)
    : timeMs(d.pod.metadata?.creationTimestamp);
  if (started === undefined) return;
  const deadline = running ? ctx.settings.runningDeadlineMs : ctx.settings.pendingDeadlineMs;
  const age = ctx.nowMs - started;
  if (age < deadline) {
    ctx.wakeIn(deadline - age);
    return;
  }
  const why = running ? 'has been running' : 'has been Pending (not scheduled or not started)';
  ctx.report('Warning', 'DrainStuck', `drain pod ${d.ref.name} ${why} for ${formatDuration(age)}; it is left in place and its ` +
    `claims are kept`, `${d.ref.uid}/stuck-${d.phase}`, ordinal);
}
