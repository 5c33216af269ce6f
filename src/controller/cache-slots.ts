// The compact forms in which the cache's indexes keep the objects most numerous in large clusters: stateful pods
// and claims between drains. Both are indexed by their name without the ordinal (`<set>` for a pod,
// `<template>-<set>` for a claim), so a slot holds the ordinal instead of the name, and makes the trimmed object
// again when a reconcile reads it. At 10,000 sets (60,000 of each) the trimmed objects took 16.5 and 18.6 MiB
// (docs/performance.md). An object a slot could not give back exactly is kept as the trimmed object it is.
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { SlotCodec } from './name-index.ts';

// V8 keeps integers below 2^30 in the field itself; a larger one would be a number object of its own.
const SMALL_INTEGER = 2 ** 30;

/** The integer the text spells exactly, if small; else undefined. */
export function smallInteger(text: string | undefined): number | undefined {
  const value = Number(text);
  return Number.isInteger(value) && value >= 0 && value < SMALL_INTEGER && String(value) === text ? value : undefined;
}

/** The ordinal of `<stem>-<ordinal>`, if the slot can spell the name again. */
function ordinalIn(name: string | undefined, stem: string): number | undefined {
  const ordinal = smallInteger(name?.slice(stem.length + 1));
  return ordinal !== undefined && name === `${stem}-${ordinal}` ? ordinal : undefined;
}

/** Whether the trimmed object is its metadata alone, with no field but these, and the slot's name, namespace and UID. */
function onlyMetadata(obj: { metadata?: object }, namespace: string, fields: Set<string>): boolean {
  const m = obj.metadata as { namespace?: string; uid?: string } | undefined;
  return m !== undefined && Object.keys(obj).length === 1 && Object.keys(m).every((field) => fields.has(field))
    && m.namespace === namespace && m.uid !== undefined;
}

/** A replica: the planner reads its name and UID only. */
export class StatefulPodSlot {
  readonly ordinal: number;
  readonly uid: string;

  constructor(ordinal: number, uid: string) {
    this.ordinal = ordinal;
    this.uid = uid;
  }
}

const POD_FIELDS = new Set(['name', 'namespace', 'uid']);

export const statefulPodSlots: SlotCodec<V1Pod, StatefulPodSlot> = {
  pack(pod, namespace, setName) {
    if (!onlyMetadata(pod, namespace, POD_FIELDS)) return undefined;
    const ordinal = ordinalIn(pod.metadata?.name, setName);
    return ordinal === undefined ? undefined : new StatefulPodSlot(ordinal, pod.metadata!.uid!);
  },
  unpack: (slot, namespace, setName) => ({ metadata: { name: `${setName}-${slot.ordinal}`, namespace, uid: slot.uid } }),
  isSlot: (entry): entry is StatefulPodSlot => entry instanceof StatefulPodSlot,
  nameOf: (slot, setName) => `${setName}-${slot.ordinal}`,
};

/** A claim with nothing of ours on it (no record, no owner, no deletion): the version is an integer where it reads as one. */
export class ClaimSlot {
  readonly ordinal: number;
  readonly uid: string;
  readonly resourceVersion: number | string;
  readonly labels: Record<string, string> | undefined;

  constructor(ordinal: number, uid: string, resourceVersion: number | string, labels: Record<string, string> | undefined) {
    this.ordinal = ordinal;
    this.uid = uid;
    this.resourceVersion = resourceVersion;
    this.labels = labels;
  }
}

const CLAIM_FIELDS = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'labels']);

export const claimSlots: SlotCodec<V1PersistentVolumeClaim, ClaimSlot> = {
  pack(claim, namespace, stem) {
    const m = claim.metadata;
    if (!onlyMetadata(claim, namespace, CLAIM_FIELDS) || m?.resourceVersion === undefined) return undefined;
    const ordinal = ordinalIn(m.name, stem);
    return ordinal === undefined ? undefined
      : new ClaimSlot(ordinal, m.uid!, smallInteger(m.resourceVersion) ?? m.resourceVersion, m.labels);
  },
  // The fields in the order trimClaim gives them.
  unpack: (slot, namespace, stem) => ({
    metadata: {
      name: `${stem}-${slot.ordinal}`, namespace, uid: slot.uid, resourceVersion: String(slot.resourceVersion),
      ...(slot.labels === undefined ? {} : { labels: slot.labels }),
    },
  }),
  isSlot: (entry): entry is ClaimSlot => entry instanceof ClaimSlot,
  nameOf: (slot, stem) => `${stem}-${slot.ordinal}`,
};
