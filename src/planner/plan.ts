// The decisions: from one StatefulSet and the claims and pods around it, the actions to take now.
// Pure and deterministic; everything it needs (including the clock) is in the observation.
import { createHash } from 'node:crypto';
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { buildDrainPod, claimRef, drainPodClaims, mountedClaimNames } from './drain-pod.ts';
import { claimLabels, claimTemplateNames, identifyClaim, inRange, isDrainPodOf, ordinalOfName } from './identity.ts';
import {
  ATTEMPT_ANNOTATION, FAILURES_ANNOTATION, FINALIZER, LAST_FAILURE_ANNOTATION, MAX_ATTEMPTS_ANNOTATION,
  RETRY_ANNOTATION, RETRY_TOKEN_ANNOTATION, TEMPLATE_ANNOTATION,
} from './keys.ts';
import type { Action, OrdinalStatus, Plan, PlannerSettings, SetObservation } from './types.ts';

export function isManaged(set: V1StatefulSet): boolean {
  return set.metadata?.annotations?.[TEMPLATE_ANNOTATION] !== undefined && claimTemplateNames(set).length > 0;
}

export function backoffMs(failures: number, settings: PlannerSettings): number {
  return Math.min(settings.backoffMaxMs, settings.backoffBaseMs * 2 ** Math.max(0, failures - 1));
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

function ms(date: Date | string | undefined): number | undefined {
  if (date === undefined) return undefined;
  const value = new Date(date).getTime();
  return Number.isNaN(value) ? undefined : value;
}

function describeDuration(millis: number): string {
  const s = Math.round(millis / 1000);
  return s < 120 ? `${s}s` : `${Math.round(s / 60)}m`;
}

/** Failure bookkeeping of an ordinal, read from its claims (which outlive the failed drain pods). */
function failureState(claims: V1PersistentVolumeClaim[]) {
  let failures = 0;
  let lastFailure: number | undefined;
  const tokens = new Set<string>();
  for (const claim of claims) {
    const annotations = claim.metadata?.annotations ?? {};
    failures = Math.max(failures, Number.parseInt(annotations[FAILURES_ANNOTATION] ?? '0', 10) || 0);
    const at = ms(annotations[LAST_FAILURE_ANNOTATION]);
    if (at !== undefined) lastFailure = Math.max(lastFailure ?? 0, at);
    tokens.add(annotations[RETRY_TOKEN_ANNOTATION] ?? '');
  }
  // Claims that disagree (a crash between two patches) count as not yet reset.
  const token = tokens.size === 1 ? [...tokens][0]! : undefined;
  return { failures, lastFailure, token };
}

function maxAttempts(set: V1StatefulSet, settings: PlannerSettings): { value: number; problem?: string } {
  const raw = set.metadata?.annotations?.[MAX_ATTEMPTS_ANNOTATION];
  if (raw === undefined) return { value: settings.maxAttempts };
  const value = Number(raw);
  if (Number.isInteger(value) && value >= 1) return { value };
  return { value: settings.maxAttempts, problem: `${MAX_ATTEMPTS_ANNOTATION}=${JSON.stringify(raw)} is not a positive integer; using ${settings.maxAttempts}` };
}

export function planSet(observation: SetObservation, settings: PlannerSettings): Plan {
  const { set, now } = observation;
  const nowMs = now.getTime();
  const setName = set.metadata?.name ?? '';
  const setUid = set.metadata?.uid ?? '';
  const managed = isManaged(set);
  const deleting = set.metadata?.deletionTimestamp !== undefined;
  const foreground = (set.metadata?.finalizers ?? []).includes('foregroundDeletion');
  const hasFinalizer = (set.metadata?.finalizers ?? []).includes(FINALIZER);
  const retryToken = set.metadata?.annotations?.[RETRY_ANNOTATION] ?? '';
  const attempts = maxAttempts(set, settings);
  const actions: Action[] = [];
  const ordinals: OrdinalStatus[] = [];
  let requeueAfterMs: number | undefined;
  const wakeIn = (delay: number) => {
    requeueAfterMs = Math.max(1, Math.min(requeueAfterMs ?? Infinity, delay));
  };
  const report = (type: 'Normal' | 'Warning', reason: string, message: string, dedupeKey: string, ordinal?: number) =>
    actions.push({ kind: 'Report', type, reason, message, dedupeKey, ordinal });

  // Pods named <set>-<n>: our drain pods, and anything else (the stateful pod, or a stranger) holding the ordinal.
  const drainPods = new Map<number, V1Pod>();
  const heldOrdinals = new Set<number>();
  for (const pod of observation.pods) {
    if (pod.metadata?.namespace !== set.metadata?.namespace) continue;
    const ordinal = ordinalOfName(pod.metadata?.name ?? '', setName);
    if (ordinal === undefined) continue;
    if (isDrainPodOf(pod, set)) drainPods.set(ordinal, pod);
    else heldOrdinals.add(ordinal);
  }

  // Claims proven to belong to the set. Claims being deleted are never drained again.
  const claimsByUid = new Map<string, V1PersistentVolumeClaim>();
  const liveClaims = new Map<number, Map<string, V1PersistentVolumeClaim>>();
  for (const claim of observation.claims) {
    const id = identifyClaim(set, claim);
    if (!id) continue;
    claimsByUid.set(claim.metadata?.uid ?? '', claim);
    if (claim.metadata?.deletionTimestamp !== undefined) continue;
    const byTemplate = liveClaims.get(id.ordinal) ?? new Map<string, V1PersistentVolumeClaim>();
    byTemplate.set(id.template, claim);
    liveClaims.set(id.ordinal, byTemplate);
  }
  const liveClaimsOfPod = (pod: V1Pod) =>
    drainPodClaims(pod).map((ref) => claimsByUid.get(ref.uid)).filter(
      (c): c is V1PersistentVolumeClaim => c !== undefined && c.metadata?.deletionTimestamp === undefined);

  // 1. Drain pods that exist are always seen through, managed set or not: that only finishes work already begun.
  for (const ordinal of [...drainPods.keys()].sort((a, b) => b - a)) {
    const pod = drainPods.get(ordinal)!;
    const podRef = { name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' };
    const phase = pod.status?.phase ?? 'Pending';
    const attempt = Number.parseInt(pod.metadata?.annotations?.[ATTEMPT_ANNOTATION] ?? '1', 10) || 1;
    const claims = liveClaimsOfPod(pod);
    const failure = failureState(claims);
    const status: OrdinalStatus = {
      ordinal, claims: drainPodClaims(pod).map((c) => c.name), drainPod: { name: podRef.name, phase, attempt },
      failures: failure.failures, state: 'draining',
    };
    ordinals.push(status);
    if (pod.metadata?.deletionTimestamp !== undefined) continue;

    if (phase === 'Succeeded') {
      status.state = 'succeeded';
      // Only claims that this very pod mounted, matched by UID, are released.
      const mounted = mountedClaimNames(pod);
      report('Normal', 'DrainSucceeded', `drain pod ${podRef.name} succeeded; releasing its claims`, `${podRef.uid}/succeeded`, ordinal);
      for (const ref of drainPodClaims(pod)) {
        const claim = claimsByUid.get(ref.uid);
        if (!claim || claim.metadata?.deletionTimestamp !== undefined || !mounted.has(ref.name)) continue;
        actions.push({ kind: 'DeleteClaim', ordinal, claim: ref, drainPod: podRef });
      }
      const created = ms(pod.metadata?.creationTimestamp);
      actions.push({ kind: 'DeleteDrainPod', ordinal, pod: podRef, reason: 'released', drainSeconds: created === undefined ? undefined : (nowMs - created) / 1000 });
      continue;
    }

    const returning = inRange(set, ordinal) && !deleting;
    if (returning && phase !== 'Running') {
      status.state = 'blocked';
      report('Normal', 'DrainCancelled', `the StatefulSet grew back over ordinal ${ordinal} before drain pod ${podRef.name} ran; its claims are kept for the returning replica`, `${podRef.uid}/cancelled`, ordinal);
      actions.push({ kind: 'DeleteDrainPod', ordinal, pod: podRef, reason: 'scale-up' });
      continue;
    }

    if (phase === 'Failed') {
      status.state = 'failed';
      const podToken = pod.metadata?.annotations?.[RETRY_TOKEN_ANNOTATION] ?? '';
      if (claims.length === 0) {
        // Its claims were deleted by someone else: there is nothing left to drain or to retry.
        actions.push({ kind: 'DeleteDrainPod', ordinal, pod: podRef, reason: 'nothing-to-drain' });
      } else if (failure.token !== retryToken) {
        actions.push({ kind: 'ResetFailures', ordinal, claims: claims.map(claimRef), retryToken });
      } else if (podToken !== retryToken) {
        actions.push({ kind: 'DeleteDrainPod', ordinal, pod: podRef, reason: 'superseded' });
      } else if (failure.failures < attempt) {
        actions.push({ kind: 'RecordFailure', ordinal, claims: claims.map(claimRef), failures: attempt, at: now.toISOString() });
        const last = attempt >= attempts.value;
        report('Warning', 'DrainFailed',
          `drain pod ${podRef.name} failed (attempt ${attempt} of ${attempts.value}); its claims are kept` +
          (last ? `; giving up: set annotation ${RETRY_ANNOTATION} to a new value to retry` : '; it will be retried'),
          `${podRef.uid}/failed`, ordinal);
      } else if (failure.failures >= attempts.value) {
        status.state = 'gave-up';
      } else {
        const due = (failure.lastFailure ?? nowMs) + backoffMs(failure.failures, settings);
        if (nowMs >= due) actions.push({ kind: 'DeleteDrainPod', ordinal, pod: podRef, reason: 'retry' });
        else {
          status.state = 'backoff';
          wakeIn(due - nowMs);
        }
      }
      continue;
    }

    // Pending or Running: report a drain that exceeds its deadline, and leave it in place.
    const started = phase === 'Running' ? ms(pod.status?.startTime) ?? ms(pod.metadata?.creationTimestamp) : ms(pod.metadata?.creationTimestamp);
    const deadline = phase === 'Running' ? settings.runningDeadlineMs : settings.pendingDeadlineMs;
    status.state = phase === 'Running' ? 'draining' : 'pending-drain';
    if (started !== undefined) {
      const age = nowMs - started;
      if (age >= deadline) {
        const why = phase === 'Running' ? 'has been running' : 'has been Pending (not scheduled or not started)';
        report('Warning', 'DrainStuck', `drain pod ${podRef.name} ${why} for ${describeDuration(age)}; it is left in place and its claims are kept`, `${podRef.uid}/stuck-${phase}`, ordinal);
      } else wakeIn(deadline - age);
    }
  }

  // 2. New drains, only for managed sets with a usable template.
  if (!managed) {
    if (hasFinalizer) actions.push({ kind: 'RemoveFinalizer' });
    return { managed, actions, requeueAfterMs, ordinals };
  }
  if (attempts.problem) report('Warning', 'InvalidMaxAttempts', attempts.problem, `${setUid}/max-attempts/${shortHash(attempts.problem)}`);
  if (!deleting && !hasFinalizer) actions.unshift({ kind: 'AddFinalizer' });

  const blockers: string[] = [];
  if (set.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete') {
    blockers.push('retention');
    report('Warning', 'RetentionConflict',
      'persistentVolumeClaimRetentionPolicy.whenScaled is Delete: Kubernetes deletes the claims of removed replicas together with their pods, before any drain can run; set whenScaled to Retain to have them drained',
      `${setUid}/retention`);
  }
  if (!observation.template.ok) {
    blockers.push('template');
    const message = `drainer pod template is invalid, no drain pods will be created: ${observation.template.problems.join('; ')}`;
    report('Warning', 'InvalidDrainerTemplate', message, `${setUid}/template/${shortHash(set.metadata?.annotations?.[TEMPLATE_ANNOTATION] ?? '')}/${shortHash(message)}`);
  }
  if (Object.keys(claimLabels(set)).length === 0) {
    blockers.push('selector');
    report('Warning', 'UnprovableClaims', 'spec.selector has no matchLabels, so claims cannot be proven to belong to this StatefulSet; nothing will be drained', `${setUid}/selector`);
  }
  if (deleting && foreground) blockers.push('foreground');

  const orphans = [...liveClaims.keys()]
    .filter((o) => !inRange(set, o) && !heldOrdinals.has(o) && !drainPods.has(o))
    .sort((a, b) => b - a);
  const ordered = (set.spec?.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
  let busy = ordered && drainPods.size > 0;
  let pending = false;
  for (const ordinal of orphans) {
    const claims = liveClaims.get(ordinal)!;
    const failure = failureState([...claims.values()]);
    const status: OrdinalStatus = { ordinal, claims: [...claims.values()].map((c) => c.metadata?.name ?? ''), failures: failure.failures, state: 'pending-drain' };
    ordinals.push(status);
    if (blockers.length > 0 || busy) {
      status.state = 'blocked';
      continue;
    }
    if (failure.token !== retryToken) {
      actions.push({ kind: 'ResetFailures', ordinal, claims: [...claims.values()].map(claimRef), retryToken });
      pending = true;
      busy = ordered;
      continue;
    }
    if (failure.failures >= attempts.value) {
      status.state = 'gave-up';
      busy = ordered; // OrderedReady halts on a drain that gave up, as the StatefulSet halts on a broken pod
      continue;
    }
    if (failure.failures > 0) {
      const due = (failure.lastFailure ?? nowMs) + backoffMs(failure.failures, settings);
      if (nowMs < due) {
        status.state = 'backoff';
        wakeIn(due - nowMs);
        pending = true;
        busy = ordered;
        continue;
      }
    }
    if (!observation.template.ok) continue;
    const attempt = failure.failures + 1;
    const pod = buildDrainPod({ set, template: observation.template.template, ordinal, claims, attempt, retryToken });
    actions.push({ kind: 'CreateDrainPod', ordinal, pod, claims: [...claims.values()].map(claimRef), attempt });
    pending = true;
    busy = ordered;
  }

  if (deleting && hasFinalizer && drainPods.size === 0 && !pending) actions.push({ kind: 'RemoveFinalizer' });
  return { managed, actions, requeueAfterMs, ordinals };
}
