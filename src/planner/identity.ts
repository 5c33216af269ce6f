// Who belongs to which StatefulSet: names, ordinals and membership checks.
import type { V1ObjectMeta, V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { hasLabels } from './label-selector.ts';
import { ORDINAL_LABEL, ROLE_DRAINER, ROLE_LABEL, SET_LABEL } from './keys.ts';

const ORDINAL = /^(0|[1-9][0-9]*)$/;

export function podName(setName: string, ordinal: number): string {
  return `${setName}-${ordinal}`;
}

/**
 * What every pod the controller creates under an ordinal's name carries (drain pod, placeholder): the name,
 * the namespace, our three labels over `labels`, and a reference to the set that is no controller's (the
 * StatefulSet controller must not adopt it) and does not block the set's deletion.
 */
export function ordinalPodMetadata(set: V1StatefulSet, ordinal: number, role: string, labels: Record<string, string> = {}): V1ObjectMeta {
  const setName = set.metadata?.name ?? '';
  return {
    name: podName(setName, ordinal),
    namespace: set.metadata?.namespace,
    labels: { ...labels, [ROLE_LABEL]: role, [SET_LABEL]: setName, [ORDINAL_LABEL]: String(ordinal) },
    ownerReferences: [{
      apiVersion: 'apps/v1', kind: 'StatefulSet', name: setName, uid: set.metadata?.uid ?? '', controller: false, blockOwnerDeletion: false,
    }],
  };
}

export function claimName(template: string, setName: string, ordinal: number): string {
  return `${template}-${setName}-${ordinal}`;
}

/** `[start, start + replicas)`; replicas defaults to 1 as in the API. */
export function ordinalRange(set: V1StatefulSet): { start: number; end: number } {
  const start = set.spec?.ordinals?.start ?? 0;
  return { start, end: start + (set.spec?.replicas ?? 1) };
}

export function inRange(set: V1StatefulSet, ordinal: number): boolean {
  const { start, end } = ordinalRange(set);
  return ordinal >= start && ordinal < end;
}

export function claimTemplateNames(set: V1StatefulSet): string[] {
  return set.spec?.volumeClaimTemplates?.map((t) => t.metadata?.name ?? '').filter((n) => n !== '') ?? [];
}

/** Labels the StatefulSet controller copies onto every claim it creates from a template. */
export function claimLabels(set: V1StatefulSet): Record<string, string> {
  return set.spec?.selector?.matchLabels ?? {};
}

export interface ClaimIdentity {
  template: string;
  ordinal: number;
}

/**
 * The template and ordinal of a claim made for this set, or undefined. A name match alone is not proof
 * (`data` + set `a-b` and `data-a` + set `b` give the same name), so the set's selector labels must be present too.
 */
export function identifyClaim(set: V1StatefulSet, claim: V1PersistentVolumeClaim): ClaimIdentity | undefined {
  if (!hasLabels(claim.metadata?.labels, claimLabels(set))) return undefined;
  // whenDeleted: Delete makes the set the claim's owner: an owner that is another set settles it.
  if (!ownedByOrOrphaned(claim.metadata, set)) return undefined;
  return spellsClaim(set, claim);
}

/**
 * The template and ordinal under which the set's name and claim templates spell the claim's name, whatever
 * its labels: a set whose selector changed (deleted with --cascade=orphan, recreated with new labels) still
 * spells its old claims' names, and still has a replica on them.
 */
export function spellsClaim(set: V1StatefulSet, claim: V1PersistentVolumeClaim): ClaimIdentity | undefined {
  const name = claim.metadata?.name ?? '';
  const setName = set.metadata?.name ?? '';
  if (claim.metadata?.namespace !== set.metadata?.namespace) return undefined;
  for (const template of claimTemplateNames(set)) {
    const ordinal = ordinalOfName(name, `${template}-${setName}`);
    if (ordinal !== undefined) return { template, ordinal };
  }
  return undefined;
}

/** The ordinal in a `<prefix>-<ordinal>` name. */
export function ordinalOfName(name: string, prefix: string): number | undefined {
  const split = splitOrdinal(name);
  return split?.stem === prefix ? split.ordinal : undefined;
}

/**
 * The pod's StatefulSet owner reference names this set, or it has none: `kubectl delete sts --cascade=orphan`
 * (how users change a set's claim templates or selector) makes the garbage collector strip it, and the drain
 * must still finish, for the set being deleted or for the one recreated under its name.
 */
export function ownedByOrOrphaned(meta: V1ObjectMeta | undefined, set: V1StatefulSet): boolean {
  return !meta?.ownerReferences?.some((ref) => ref.kind === 'StatefulSet' && ref.uid !== set.metadata?.uid);
}

/**
 * Looks like a drain pod of this set: our role label, our set label, and an owner reference to the set (or
 * none left). Anyone who may create pods can make such a pod, so this alone proves nothing: only the record
 * on the claim does (release-proof.ts).
 */
export function isDrainPodOf(pod: V1Pod, set: V1StatefulSet): boolean {
  const labels = pod.metadata?.labels ?? {};
  return labels[ROLE_LABEL] === ROLE_DRAINER && labels[SET_LABEL] === set.metadata?.name && ownedByOrOrphaned(pod.metadata, set);
}

/** The pod's ordinal when its name and its ordinal label agree. */
export function drainPodOrdinal(pod: V1Pod, set: V1StatefulSet): number | undefined {
  const ordinal = ordinalOfName(pod.metadata?.name ?? '', set.metadata?.name ?? '');
  const labels = pod.metadata?.labels ?? {};
  return labels[ORDINAL_LABEL] === String(ordinal) ? ordinal : undefined;
}

/** A `<stem>-<ordinal>` name split at its last dash, when what follows is an ordinal. */
function splitOrdinal(name: string): { stem: string; ordinal: number } | undefined {
  const dash = name.lastIndexOf('-');
  const tail = name.slice(dash + 1);
  return dash >= 0 && ORDINAL.test(tail) ? { stem: name.slice(0, dash), ordinal: Number(tail) } : undefined;
}

/** Index keys under which a `<template>-<set>-<ordinal>` claim could be found: every possible `<set>`. */
export function candidateSetNamesOfClaim(claimNameValue: string): string[] {
  const split = splitOrdinal(claimNameValue);
  if (!split) return [];
  const { stem } = split;
  const names: string[] = [];
  for (let i = stem.indexOf('-'); i >= 0; i = stem.indexOf('-', i + 1)) {
    if (i + 1 < stem.length) names.push(stem.slice(i + 1));
  }
  return names;
}

/** The name without its ordinal: the set of a `<set>-<ordinal>` pod, the `<template>-<set>` of a claim. */
export function ordinalStem(name: string): string | undefined {
  return splitOrdinal(name)?.stem;
}
