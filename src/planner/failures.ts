// Failure bookkeeping of an ordinal: read from its claims, which outlive the failed drain pods.
import type { V1PersistentVolumeClaim, V1StatefulSet } from '@kubernetes/client-node';
import { parseDuration } from './duration.ts';
import { DELAY_ANNOTATION, FAILURES_ANNOTATION, LAST_FAILURE_ANNOTATION, MAX_ATTEMPTS_ANNOTATION, RETRY_TOKEN_ANNOTATION, TIMEOUT_ANNOTATION } from './keys.ts';
import type { PlannerSettings } from './types.ts';
import { exponentialBackoffMs } from '../backoff.ts';

export interface FailureState {
  failures: number;
  lastFailure?: number;
  /** The retry token the count was last reset for; undefined when the claims disagree. */
  token?: string;
}

export function timeMs(date: Date | string | undefined): number | undefined {
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
 * A time read from an annotation, never later than now: the controller writes them from its own clock, so a
 * future one was written by hand (or by a replica whose clock ran ahead) and would postpone work for ever.
 */
export function notAfter(ms: number | undefined, nowMs: number): number {
  return Math.min(ms ?? nowMs, nowMs);
}

/** When the next attempt after `state`'s last failure may start. */
export function retryDueMs(state: FailureState, settings: PlannerSettings, nowMs: number): number {
  return notAfter(state.lastFailure, nowMs) + backoffMs(state.failures, settings);
}

/** The longest a timeout annotation may ask for: a week; beyond that it is surely a typo. */
const MAX_TIMEOUT_MS = 7 * 24 * 3_600_000;

/** A duration annotation of the set within (0, 168h], else the flag's default; a bad value is reported, and the default used. */
function durationAnnotation(set: V1StatefulSet, key: string, fallback: number, none: string): { value: number; problem?: string } {
  const raw = set.metadata?.annotations?.[key];
  if (raw === undefined) return { value: fallback };
  let value: number | undefined;
  try {
    value = parseDuration(raw);
  } catch {
    value = undefined;
  }
  if (value !== undefined && value > 0 && value <= MAX_TIMEOUT_MS) return { value };
  const used = fallback > 0 ? `the default of ${fallback / 1000}s` : none;
  return { value: fallback, problem: `${key}=${JSON.stringify(raw)} is not a duration between 1s and 168h (e.g. 30m, 2h); using ${used}` };
}

/** The drain attempt timeout: the annotation, else the flag's default; 0 is none. */
export function drainTimeout(set: V1StatefulSet, settings: PlannerSettings): { value: number; problem?: string } {
  return durationAnnotation(set, TIMEOUT_ANNOTATION, settings.drainTimeoutMs, 'no timeout');
}

/** How long an orphaned ordinal waits before its drain: the annotation, else the flag's default; 0 is none. */
export function drainDelay(set: V1StatefulSet, settings: PlannerSettings): { value: number; problem?: string } {
  return durationAnnotation(set, DELAY_ANNOTATION, settings.drainDelayMs, 'no delay');
}

export function maxAttempts(set: V1StatefulSet, settings: PlannerSettings): { value: number; problem?: string } {
  const raw = set.metadata?.annotations?.[MAX_ATTEMPTS_ANNOTATION];
  if (raw === undefined) return { value: settings.maxAttempts };
  const value = Number(raw);
  if (Number.isInteger(value) && value >= 1) return { value };
  return { value: settings.maxAttempts, problem: `${MAX_ATTEMPTS_ANNOTATION}=${JSON.stringify(raw)} is not a positive integer; using ${settings.maxAttempts}` };
}
