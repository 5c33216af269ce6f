// The planner's vocabulary: what it observes and the actions it asks the executor to perform.
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { TemplateResult } from './template.ts';
import type { SetSummary } from '../set-summary.ts';

export interface ClaimRef {
  name: string;
  uid: string;
}

export type PodRef = ClaimRef;

/**
 * A claim as the plan saw it: every annotation write is conditional on this resourceVersion, so a write decided
 * on a stale view (or sent late by a replica that has since lost the lease) is refused (409) when the claim has
 * changed since, instead of overwriting what another write decided.
 */
export interface ClaimAt extends ClaimRef {
  resourceVersion?: string;
}

/**
 * A claim a release writes, as the plan's cache holds it (trimmed, with every field the release proof reads).
 * The executor asks the proof of it, with the set and the pod read from etcd, and makes the write conditional
 * on its resourceVersion: the API server refuses that write (409) if the claim changed since, so the proof held
 * of the claim etcd has when the write lands, without a read of it first.
 */
export interface ClaimSeen extends ClaimRef {
  seen: V1PersistentVolumeClaim;
}

/**
 * Keep the claim's volume before the claim is deleted: its reclaim policy set to Retain and the volume marked
 * (kept-volumes.ts) with the drain pod that proved the release and the end of the keep.
 */
export interface VolumeKeep {
  drainPodUid: string;
  at: string;
  until: string;
}

/** Why a drain pod is deleted; each reason has its own precondition in the planner. */
export type DeleteReason =
  | 'drained' // it Succeeded, and its success is recorded on its claims (released next, under a placeholder)
  | 'retry' // it Failed, the failure is recorded and the backoff elapsed
  | 'superseded' // it Failed before a user-requested retry reset the failure count
  | 'scale-up' // the set grew back over its ordinal before the drain started running, or before it was released
  // it finished, but no claim records it as a drain pod this controller created (or its containers were changed): it releases nothing
  | 'unproven'
  | 'timeout' // the attempt ran past the drain timeout: recorded as failed, and stopped
  | 'nothing-to-drain' // it Failed and all its claims are gone (deleted by someone else)
  | 'ended'; // its drain was ended without a release already (its UID kept as ended); a stale cache still shows it

export type EventType = 'Normal' | 'Warning';

/** Every reason of an event the controller records (docs/operations.md explains each; a unit test keeps them in step). */
export const EVENT_REASONS = [
  'DrainStarted', 'DrainSucceeded', 'ClaimReleased', 'DrainCompleted', 'DrainCancelled', 'DrainRetrying', 'DrainDelayed',
  'DrainFailed', 'DrainTimedOut', 'DrainStuck', 'AmbiguousClaim', 'UnprovenDrainPod', 'ReplicaOnReleasedClaim', 'DrainPodModified',
  'DrainPodRelabelled', 'TimeInFuture', 'InvalidDrainerTemplate', 'RetentionConflict', 'UnprovableClaims', 'InvalidMaxAttempts',
  'InvalidDrainTimeout', 'InvalidDrainDelay', 'InvalidInheritScheduling', 'InvalidKeepVolume', 'VolumeKept', 'VolumeNotKept',
  'VolumeReclaimed', 'VolumeRestored', 'VolumeRestoreDone',
] as const;
export type EventReason = typeof EVENT_REASONS[number];

export type Action =
  | { kind: 'AddFinalizer' }
  | { kind: 'RemoveFinalizer' }
  /**
   * `templateHash`: set when the template was found at start-up and never tried; the API server's answer to
   * this create is then its verdict on the template too (a refusal is reported like VerifyTemplate's).
   */
  | { kind: 'CreateDrainPod'; ordinal: number; pod: V1Pod; claims: ClaimAt[]; attempt: number; templateHash?: string }
  /**
   * Write the success of `drainPod` (Succeeded, checked against etcd as for a release) on its claims, with the
   * set's generation: the claims may be released once the pod is gone and a placeholder holds the name.
   */
  | { kind: 'RecordDrained'; ordinal: number; claims: ClaimSeen[]; drainPod: PodRef; generation: number }
  /** Take the ordinal's name with a placeholder (placeholder.ts) before its drained claims are deleted. */
  | { kind: 'CreatePlaceholder'; ordinal: number; pod: V1Pod }
  /**
   * Delete a drained claim, while `placeholder` holds the name (the set and the placeholder read again from etcd
   * first, the delete conditional on the claim as the plan saw it).
   */
  | { kind: 'DeleteClaim'; ordinal: number; claim: ClaimSeen; placeholder: PodRef; keep?: VolumeKeep }
  /** Free the name: the ordinal's released claims are gone (checked against etcd), or the release was called off. */
  | { kind: 'DeletePlaceholder'; ordinal: number; pod: PodRef; reason: 'released' | 'cancelled' }
  /** Call off a release not yet made: the drained record is removed (and its pod kept as ended); the claims stay. */
  | { kind: 'ForgetDrained'; ordinal: number; claims: Array<ClaimAt & { drainedPodUid: string }> }
  | {
    kind: 'DeleteDrainPod'; ordinal: number; pod: PodRef; reason: DeleteReason;
    /** creation to success, for 'drained' */ drainSeconds?: number;
    /**
     * Claims whose record names this pod: once it is deleted, the record is removed and the pod's UID kept as
     * ended (a drain that ends without a release).
     */
    forget?: ClaimAt[];
  }
  | { kind: 'RecordFailure'; ordinal: number; claims: ClaimAt[]; failures: number; at: string }
  | { kind: 'ResetFailures'; ordinal: number; claims: ClaimAt[]; retryToken: string }
  /** Rewrite a claim's time annotation that lies in the future as `at` (now). */
  | { kind: 'CorrectTime'; ordinal: number; claims: ClaimAt[]; annotation: string; at: string }
  /** Start (at) or end (undefined: the ordinal is in range again) the drain delay of an ordinal's claims. */
  | { kind: 'MarkOrphaned'; ordinal: number; claims: ClaimAt[]; at?: string }
  /**
   * Ask the API server whether it would admit a drain pod built from the template (a server-side dry-run
   * create of `pod`). The verdict comes back in the next observation as `templateVerdict`.
   */
  | { kind: 'VerifyTemplate'; pod: V1Pod; templateHash: string }
  /** An event that reports a state rather than a step; dedupeKey makes repeated plans report it once. */
  | { kind: 'Report'; type: EventType; reason: EventReason; message: string; dedupeKey: string; ordinal?: number };

export interface SetObservation {
  set: V1StatefulSet;
  /** Claims that might belong to the set (from the name index); the planner verifies membership. */
  claims: V1PersistentVolumeClaim[];
  /** Pods named `<set>-<n>`: stateful pods, drain pods, or anything else holding that name. */
  pods: V1Pod[];
  /**
   * Other StatefulSets of the namespace whose names could also own one of `claims`
   * (`data` + `a-b` and `data-a` + `b` spell the same claim name). Optional: none when absent.
   */
  rivals?: V1StatefulSet[];
  /** The parsed template annotation. */
  template: TemplateResult;
  /** What the API server said of a drain pod built from this very template (see VerifyTemplate). */
  templateVerdict: TemplateVerdict;
  now: Date;
}

export type TemplateVerdict =
  | { state: 'accepted' }
  | { state: 'rejected'; problem: string }
  /**
   * Not asked yet. `atStartup`: the template text this set carried when the controller started (absent if the
   * set or its template was not there). A template new or changed since is asked about at once; one found at
   * start-up only if the set lacks our finalizer, otherwise the first drain pod's create answers
   * (CreateDrainPod's `templateHash`).
   */
  | { state: 'unchecked'; atStartup?: string };

export interface PlannerSettings {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A drain pod Pending longer than this is reported as stuck. */
  pendingDeadlineMs: number;
  /** A drain pod Running longer than this is reported as stuck. */
  runningDeadlineMs: number;
  /** Default drain attempt timeout (the timeout annotation overrides); 0: none. */
  drainTimeoutMs: number;
  /** Default wait before an orphaned ordinal's drain starts (the delay annotation overrides); 0: none. */
  drainDelayMs: number;
  /** Default time a released claim's volume is kept (the keep-volume annotation overrides); 0: none. */
  keepVolumeMs: number;
  /** The longest keep a set may ask for (--max-keep-volume). */
  maxKeepVolumeMs: number;
}

export interface OrdinalStatus {
  ordinal: number;
  claims: string[];
  drainPod?: { name: string; phase: string; attempt: number };
  /** For `delayed`: when the drain will start. */
  startsAt?: string;
  /** Why the ordinal is where it is, and what comes next, in a sentence (status's REASON column). */
  why: string;
  failures: number;
  /**
   * waiting-for-pod: orphaned, but a pod of its name (the stateful pod, terminating) still exists;
   * pending-drain: a drain pod is about to be created or is Pending; draining: Running; succeeded: its success is
   * being recorded; releasing: a placeholder holds the name while the drained claims are deleted;
   * failed / backoff / gave-up: after a failed attempt; blocked: the set's configuration or OrderedReady holds it;
   * cancelled: the drain or release was called off (the set grew back, another pod took the name, the drain ended
   * without a release); the claims are kept, or someone else is deleting them and nothing is left to drain;
   * unproven: a pod with drain labels that this controller did not create holds the ordinal;
   * delayed: orphaned, waiting out the drain delay (a scale-up meanwhile gets the claim back untouched);
   * replica-on-released-claim: a replica of the ordinal runs on a claim this controller released, still being
   * deleted (the StatefulSet controller raced the release): what it writes is lost when it stops.
   */
  state: 'delayed' | 'waiting-for-pod' | 'pending-drain' | 'draining' | 'succeeded' | 'releasing' | 'failed' | 'backoff' | 'gave-up' |
    'blocked' | 'cancelled' | 'unproven'
    | 'replica-on-released-claim';
}

export interface Plan {
  managed: boolean;
  actions: Action[];
  /** Reconcile again after this long even if nothing changes (backoff expiry, stuck deadlines). */
  requeueAfterMs?: number;
  /** Orphaned ordinals and drains in flight, for metrics and the status view. */
  ordinals: OrdinalStatus[];
  /** The set is managed but its template cannot be used (parse, schema or the API server's verdict). */
  invalidTemplate: boolean;
  /** What the set's gauges count (sdc_orphaned_claims and the rest). */
  summary: SetSummary;
}
