// What a log line says about an action: which ordinal, claims and pods it is about.
import type { Action } from '../planner/types.ts';

/** The log fields that say which ordinal, claims and pods an action is about. */
export function actionFields(action: Action): Record<string, unknown> {
  switch (action.kind) {
    case 'CreateDrainPod':
      return { ordinal: action.ordinal, pod: action.pod.metadata?.name, claims: action.claims.map((c) => c.name), attempt: action.attempt };
    case 'DeleteClaim':
      return { ordinal: action.ordinal, claim: action.claim.name, claimUid: action.claim.uid, placeholder: action.placeholder.name };
    case 'RecordDrained':
      return { ordinal: action.ordinal, claims: action.claims.map((c) => c.name), drainPod: action.drainPod.name,
        drainPodUid: action.drainPod.uid };
    case 'CreatePlaceholder':
      return { ordinal: action.ordinal, pod: action.pod.metadata?.name };
    case 'DeletePlaceholder':
    case 'DeleteDrainPod':
      return { ordinal: action.ordinal, pod: action.pod.name, reason: action.reason };
    case 'ForgetDrained':
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
