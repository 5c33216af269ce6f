// Failure bookkeeping of an ordinal: read from its claims, which outlive the failed drain pods.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { FAILURES_ANNOTATION, LAST_FAILURE_ANNOTATION, RETRY_TOKEN_ANNOTATION } from './keys.ts';
import type { PlannerSettings } from './types.ts';
import { exponentialBackoffMs } from '../backoff.ts';

export interface FailureState {
  failures: number;
  lastFailure?: number;
  /** The retry token the count was last reset for; undefined when the claims disagree. */
  token?: string;
}

export function timeMs(date: Date | string | undefined): number | undefined {
  // Stryker disable next-line ConditionalExpression: equivalent, an invalid Date's NaN answers undefined below (the test is for the type).
  if (date === undefined) return undefined;
  const value = new Date(date).getTime();
  return Number.isNaN(value) ? undefined : value;
}

export function failureState(claims: V1PersistentVolumeClaim[]): FailureState {
  let failures = 0;
  let lastFailure: number | undefined;
  const tokens = new Set<string>();
  for (const claim of claims) {
    const annotations = claim.metadata?.annotations ?? {};
    // Stryker disable next-line StringLiteral: equivalent, any fallback that is not a number reads as 0 through `|| 0`.
    failures = Math.max(failures, Number.parseInt(annotations[FAILURES_ANNOTATION] ?? '0', 10) || 0);
    const at = timeMs(annotations[LAST_FAILURE_ANNOTATION]);
    if (at !== undefined) lastFailure = Math.max(lastFailure ?? 0, at);
    tokens.add(annotations[RETRY_TOKEN_ANNOTATION] ?? '');
  }
  // Claims that disagree (a crash between two patches) count as not yet reset.
  const token = tokens.size === 1 ? [...tokens][0]! : undefined;
  return { failures, lastFailure, token };
}

export function backoffMs(failures: number, settings: PlannerSettings): number {
  return exponentialBackoffMs(failures, settings.backoffBaseMs, settings.backoffMaxMs);
}

/**
 * A time read from an annotation, never later than now: the controller writes them by the API server's clock,
 * so one further ahead than the replicas' estimates differ was written by hand (or by an older version whose
 * own clock ran ahead) and would postpone work for ever.
 */
export function notAfter(ms: number | undefined, nowMs: number): number {
  return Math.min(ms ?? nowMs, nowMs);
}

/** When the next attempt after `state`'s last failure may start. */
export function retryDueMs(state: FailureState, settings: PlannerSettings, nowMs: number): number {
  return notAfter(state.lastFailure, nowMs) + backoffMs(state.failures, settings);
}
