// Every annotation, label and finalizer the controller reads or writes.

/** What users set on a StatefulSet: every such annotation begins with this. */
export const SET_ANNOTATION_PREFIX = 'statefulsets.kubernetes.io/drainer-';
/** What the controller writes (labels, annotations, the finalizer): every such key begins with this. */
export const OWN_KEY_PREFIX = 'drain.statefulsets.kubernetes.io/';

/** On a StatefulSet: the drain pod template (JSON or YAML PodTemplateSpec). Its presence makes the set managed. */
export const TEMPLATE_ANNOTATION = `${SET_ANNOTATION_PREFIX}pod-template`;
/** On a StatefulSet: how many drain attempts per ordinal before giving up (overrides --max-attempts). */
export const MAX_ATTEMPTS_ANNOTATION = `${SET_ANNOTATION_PREFIX}max-attempts`;
/** On a StatefulSet: how long an orphaned ordinal waits before its drain starts (a duration, e.g. 10m). */
export const DELAY_ANNOTATION = `${SET_ANNOTATION_PREFIX}delay`;
/** On a StatefulSet: the longest a drain attempt may take (a duration, e.g. 30m); past it the attempt has failed. */
export const TIMEOUT_ANNOTATION = `${SET_ANNOTATION_PREFIX}timeout`;
/** On a StatefulSet: "false" stops drain pods from taking the set's scheduling constraints (drain-pod.ts). */
export const INHERIT_SCHEDULING_ANNOTATION = `${SET_ANNOTATION_PREFIX}inherit-scheduling`;
/** On a StatefulSet: set to any new value to retry drains that gave up. */
export const RETRY_ANNOTATION = `${SET_ANNOTATION_PREFIX}retry`;

/** Finalizer that keeps a deleted StatefulSet until its in-flight drains are finished. */
export const FINALIZER = `${OWN_KEY_PREFIX}drain-orphans`;

// Drain pod labels (selectable with kubectl -l) and annotations.
export const ROLE_LABEL = `${OWN_KEY_PREFIX}role`;
/** Set by the StatefulSet controller on every pod it creates. */
export const STATEFUL_POD_LABEL = 'statefulset.kubernetes.io/pod-name';
export const ROLE_DRAINER = 'drainer';
/** Role of the pod that holds `<set>-<ordinal>` (no volumes, never scheduled) while a drained ordinal's claims are deleted. */
export const ROLE_PLACEHOLDER = 'placeholder';
export const SET_LABEL = `${OWN_KEY_PREFIX}statefulset`;
export const ORDINAL_LABEL = `${OWN_KEY_PREFIX}ordinal`;
/** JSON list of {name, uid} of the claims the drain pod mounts: the only claims its success can release. */
export const CLAIMS_ANNOTATION = `${OWN_KEY_PREFIX}claims`;
export const ATTEMPT_ANNOTATION = `${OWN_KEY_PREFIX}attempt`;

// Claim annotations, written only by the controller.
/**
 * UID of the drain pod this controller created for the claim, written right after the create. It is the
 * proof that a drain pod is the controller's own: anyone who may create pods can copy a drain pod's labels,
 * annotations and owner reference, but not write this onto a claim without the right to patch claims.
 */
export const DRAIN_POD_ANNOTATION = `${OWN_KEY_PREFIX}drain-pod-uid`;
/**
 * Digest of what that drain pod's containers run, written with its UID: anyone who may patch pods can change
 * a running pod's image, and a pod so changed proves nothing (release-proof.ts).
 */
export const DRAIN_POD_CONTAINERS_ANNOTATION = `${OWN_KEY_PREFIX}drain-pod-containers`;
/**
 * UID of the last drain pod whose drain ended without a release (its record above is removed then): a cache
 * that still shows that pod knows it for the controller's own, ended, and neither trusts nor reports it.
 */
export const ENDED_DRAIN_POD_ANNOTATION = `${OWN_KEY_PREFIX}ended-drain-pod-uid`;
/**
 * `<drain pod UID>/<set generation>`: that drain pod Succeeded (checked against etcd) while the set was at that
 * generation; written before the drain pod is deleted. The claim is deleted only while a placeholder holds the
 * ordinal's name and the set is still at that generation (no scale since: no replica can have used the claim).
 */
export const DRAINED_ANNOTATION = `${OWN_KEY_PREFIX}drained`;
/** When the controller first saw the claim's ordinal orphaned: the drain delay counts from it, across restarts. */
export const ORPHANED_SINCE_ANNOTATION = `${OWN_KEY_PREFIX}orphaned-since`;
// Failure bookkeeping that must survive the failed drain pod's deletion.
export const FAILURES_ANNOTATION = `${OWN_KEY_PREFIX}failed-attempts`;
export const LAST_FAILURE_ANNOTATION = `${OWN_KEY_PREFIX}last-failure`;
/** Value of RETRY_ANNOTATION that the failure count was last reset for; also copied onto drain pods. */
export const RETRY_TOKEN_ANNOTATION = `${OWN_KEY_PREFIX}retry-token`;

/** On a StatefulSet: keep each released claim's volume this long (a duration, e.g. 72h) before it is reclaimed. */
export const KEEP_VOLUME_ANNOTATION = `${SET_ANNOTATION_PREFIX}keep-volume`;

// On a PersistentVolume kept after its claim was released (kept-volumes.ts): the label selects them, the
// annotations say whose it was, which drain proved it, until when it is kept, and the policy to put back.
export const KEPT_VOLUME_LABEL = `${OWN_KEY_PREFIX}kept-volume`;
/** `<namespace>/<claim name>` */
export const KEPT_CLAIM_ANNOTATION = `${OWN_KEY_PREFIX}kept-claim`;
export const KEPT_CLAIM_UID_ANNOTATION = `${OWN_KEY_PREFIX}kept-claim-uid`;
export const KEPT_SET_ANNOTATION = `${OWN_KEY_PREFIX}kept-statefulset`;
export const KEPT_SET_UID_ANNOTATION = `${OWN_KEY_PREFIX}kept-statefulset-uid`;
export const KEPT_ORDINAL_ANNOTATION = `${OWN_KEY_PREFIX}kept-ordinal`;
export const KEPT_DRAIN_POD_ANNOTATION = `${OWN_KEY_PREFIX}kept-drain-pod-uid`;
export const KEPT_AT_ANNOTATION = `${OWN_KEY_PREFIX}kept-at`;
export const KEPT_UNTIL_ANNOTATION = `${OWN_KEY_PREFIX}kept-until`;
/** The reclaim policy the volume had before it was kept (set back when the keep ends). */
export const KEPT_POLICY_ANNOTATION = `${OWN_KEY_PREFIX}reclaim-policy-before-keep`;
/**
 * On a claim made by `restore` on a kept volume: `<volume>/<set generation>`. Its ordinal is not drained while the
 * set is at that generation (until the scale-up it was restored for), or the restore would be drained at once.
 */
export const RESTORED_ANNOTATION = `${OWN_KEY_PREFIX}restored`;
/** On a kept volume that `restore` bound to a new claim: when. */
export const RESTORED_AT_ANNOTATION = `${OWN_KEY_PREFIX}restored-at`;
