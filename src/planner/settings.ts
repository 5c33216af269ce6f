// A set's own drain settings, from its annotations (delay, timeout, attempts), over the flags' defaults; a bad
// value is reported and the default used.
import type { V1StatefulSet } from '@kubernetes/client-node';
import { parseDuration } from './duration.ts';
import { DELAY_ANNOTATION, KEEP_VOLUME_ANNOTATION, MAX_ATTEMPTS_ANNOTATION, TIMEOUT_ANNOTATION } from './keys.ts';
import type { PlannerSettings } from './types.ts';

/** The longest a delay or timeout annotation may ask for: a week; beyond that it is surely a typo. */
const MAX_ANNOTATED_DURATION_MS = 7 * 24 * 3_600_000;

/** A duration annotation of the set within (0, 168h], else the flag's default; a bad value is reported, and the default used. */
function durationAnnotation(set: V1StatefulSet, key: string, fallback: number, none: string): { value: number; problem?: string } {
  const raw = set.metadata?.annotations?.[key];
  if (raw === undefined) return { value: fallback };
  let value: number | undefined;
  try {
    value = parseDuration(raw);
  } catch {
    // Not a duration: refused below, with the value.
  }
  // Stryker disable next-line ConditionalExpression: equivalent, undefined > 0 is false as well (the test is for the type).
  if (value !== undefined && value > 0 && value <= MAX_ANNOTATED_DURATION_MS) return { value };
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

/** How many drain attempts an ordinal gets: the annotation, else the flag's default. */
export function maxAttempts(set: V1StatefulSet, settings: PlannerSettings): { value: number; problem?: string } {
  const raw = set.metadata?.annotations?.[MAX_ATTEMPTS_ANNOTATION];
  if (raw === undefined) return { value: settings.maxAttempts };
  const value = Number(raw);
  if (Number.isInteger(value) && value >= 1) return { value };
  return { value: settings.maxAttempts,
    problem: `${MAX_ATTEMPTS_ANNOTATION}=${JSON.stringify(raw)} is not a positive integer; using ${settings.maxAttempts}` };
}

/** The longest --max-keep-volume may allow: 90 days (a keep is storage paid for; longer is surely a typo). */
export const MAX_KEEP_VOLUME_MS = 90 * 24 * 3_600_000;

/**
 * How long a released claim's volume is kept: the annotation (at most --max-keep-volume, which the operator
 * sets: kept volumes are outside every quota), else the flag's default; 0 is not at all. A bad
 * value has no default to fall back on: the set asked for its volumes to be kept, so its releases wait
 * (`value` undefined) until the value is mended.
 */
export function keepVolume(set: V1StatefulSet, settings: PlannerSettings): { value?: number; problem?: string } {
  const raw = set.metadata?.annotations?.[KEEP_VOLUME_ANNOTATION];
  if (raw === undefined) return { value: Math.min(settings.keepVolumeMs, settings.maxKeepVolumeMs) };
  if (raw === '0') return { value: 0 };
  let value: number | undefined;
  try {
    value = parseDuration(raw);
  } catch {
    // Not a duration: refused below, with the value.
  }
  // Stryker disable next-line ConditionalExpression: equivalent, undefined >= 1000 is false as well (the test is for the type).
  if (value !== undefined && value >= 1000 && value <= settings.maxKeepVolumeMs) return { value };
  return { problem: `${KEEP_VOLUME_ANNOTATION}=${JSON.stringify(raw)} is not 0 or a duration between 1s and ` +
    `${settings.maxKeepVolumeMs / 3_600_000}h (--max-keep-volume; e.g. 72h); no claim of this set is released until it is` };
}
