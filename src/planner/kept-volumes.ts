// The decisions for volumes kept after their claims were released: which keeps have ended (their reclaim
// policy is set back and the provisioner reclaims them), which wait, and which are left alone. Pure, as plan.ts:
// every write it asks for is derived from the volume as it is now and conditional on that version.
import type { V1PersistentVolume, V1StatefulSet } from '@kubernetes/client-node';
import { inRange } from './identity.ts';
import {
  KEPT_AT_ANNOTATION, KEPT_CLAIM_ANNOTATION, KEPT_CLAIM_UID_ANNOTATION, KEPT_DRAIN_POD_ANNOTATION, KEPT_ORDINAL_ANNOTATION,
  KEPT_POLICY_ANNOTATION, KEPT_SET_ANNOTATION, KEPT_SET_UID_ANNOTATION, KEPT_UNTIL_ANNOTATION, KEPT_VOLUME_LABEL, RESTORED_AT_ANNOTATION,
} from './keys.ts';

/** What the marks on a kept volume say: whose claim it was, which drain proved the release, and until when it is kept. */
export interface KeptVolume {
  namespace: string;
  claim: string;
  claimUid: string;
  statefulset: string;
  setUid: string;
  ordinal: number;
  drainPodUid: string;
  keptAt: string;
  until: string;
  /** The reclaim policy to put back when the keep ends. */
  policyBefore: string;
}

/** The labels and annotations that make a volume kept (written with its reclaim policy set to Retain). */
export function keepMarks(kept: KeptVolume): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: { [KEPT_VOLUME_LABEL]: 'true' },
    annotations: {
      [KEPT_CLAIM_ANNOTATION]: `${kept.namespace}/${kept.claim}`, [KEPT_CLAIM_UID_ANNOTATION]: kept.claimUid,
      [KEPT_SET_ANNOTATION]: kept.statefulset, [KEPT_SET_UID_ANNOTATION]: kept.setUid, [KEPT_ORDINAL_ANNOTATION]: String(kept.ordinal),
      [KEPT_DRAIN_POD_ANNOTATION]: kept.drainPodUid, [KEPT_AT_ANNOTATION]: kept.keptAt, [KEPT_UNTIL_ANNOTATION]: kept.until,
      [KEPT_POLICY_ANNOTATION]: kept.policyBefore,
    },
  };
}

/** The marks read back, or undefined when any is missing or malformed (someone edited them). */
export function readKeptVolume(volume: V1PersistentVolume): KeptVolume | undefined {
  const a = volume.metadata?.annotations ?? {};
  if (volume.metadata?.labels?.[KEPT_VOLUME_LABEL] !== 'true') return undefined;
  const claimKey = a[KEPT_CLAIM_ANNOTATION]?.split('/');
  const ordinal = Number(a[KEPT_ORDINAL_ANNOTATION]);
  const fields = [a[KEPT_CLAIM_UID_ANNOTATION], a[KEPT_SET_ANNOTATION], a[KEPT_SET_UID_ANNOTATION], a[KEPT_DRAIN_POD_ANNOTATION],
    a[KEPT_AT_ANNOTATION],
    a[KEPT_UNTIL_ANNOTATION], a[KEPT_POLICY_ANNOTATION]];
  if (claimKey?.length !== 2 || !claimKey[0] || !claimKey[1] || !Number.isInteger(ordinal) || ordinal < 0) return undefined;
  if (fields.some((f) => !f) || Number.isNaN(Date.parse(a[KEPT_UNTIL_ANNOTATION]!))) return undefined;
  return {
    namespace: claimKey[0], claim: claimKey[1], claimUid: a[KEPT_CLAIM_UID_ANNOTATION]!, statefulset: a[KEPT_SET_ANNOTATION]!,
    setUid: a[KEPT_SET_UID_ANNOTATION]!, ordinal,
    drainPodUid: a[KEPT_DRAIN_POD_ANNOTATION]!, keptAt: a[KEPT_AT_ANNOTATION]!, until: a[KEPT_UNTIL_ANNOTATION]!,
    policyBefore: a[KEPT_POLICY_ANNOTATION]!,
  };
}

/**
 * kept: within its keep (or its claim still being deleted, or being restored); held: the keep is over but the ordinal is in its
 * set's range again, so it is kept until the set shrinks below it or is deleted; edited: its policy or marks
 * were changed since it was kept, or it was bound to another claim: left alone, for whoever did that.
 */
export type KeptVolumeState = 'kept' | 'held' | 'edited' | 'due';

export interface KeptVolumeStatus {
  volume: string;
  state: KeptVolumeState;
  why: string;
  kept?: KeptVolume;
  /** When the keep ends (keepEnd), for a volume read as kept. */
  until?: string;
  /** The volume's capacity in bytes, when its spec states one. */
  bytes?: number;
}

/** Set the volume's reclaim policy back to `policy` and drop its kept label (conditional on `resourceVersion`). */
export interface ReclaimVolume {
  kind: 'ReclaimVolume';
  volume: string;
  uid: string;
  resourceVersion: string;
  policy: string;
  kept: KeptVolume;
  /** The volume was restored (`kubectl sts-drain restore`) and is now bound to its new claim: the restore is done. */
  restored: boolean;
}

export interface KeptVolumesPlan {
  actions: ReclaimVolume[];
  volumes: KeptVolumeStatus[];
  /** Plan again after this long: the next keep to end. */
  requeueAfterMs?: number;
}

/** What `set` (or undefined, when gone) and the clock say of each volume with the kept label. */
export function planKeptVolumes(volumes: V1PersistentVolume[], setOf: (namespace: string, name: string) => V1StatefulSet | undefined,
    now: Date): KeptVolumesPlan {
  const plan: KeptVolumesPlan = { actions: [], volumes: [] };
  for (const volume of volumes) {
    const status = judge(volume, setOf, now.getTime());
    plan.volumes.push(status);
    if (status.state === 'due') {
      // (A volume read as kept has metadata: its marks are on it.)
      plan.actions.push({ kind: 'ReclaimVolume', volume: status.volume, uid: volume.metadata!.uid ?? '',
        resourceVersion: volume.metadata!.resourceVersion ?? '',
        policy: status.kept!.policyBefore, kept: status.kept!,
        restored: volume.metadata!.annotations?.[RESTORED_AT_ANNOTATION] !== undefined });
    }
    if (status.state === 'kept') {
      const left = Date.parse(status.until!) - now.getTime();
      if (left > 0) plan.requeueAfterMs = Math.min(plan.requeueAfterMs ?? Infinity, left);
    }
  }
  return plan;
}

/**
 * When a keep ends: the end it was marked with, or, for a volume released later than the keep was written (its
 * claim deleted long after, say while a replica still used it), the keep's length from its release (the API
 * server's lastPhaseTransitionTime): a volume is kept for the whole keep after its claim is gone.
 */
export function keepEnd(volume: V1PersistentVolume, kept: KeptVolume): string {
  const lengthMs = Date.parse(kept.until) - Date.parse(kept.keptAt);
  const releasedAt = volume.status?.phase === 'Released' ? Date.parse(String(volume.status.lastPhaseTransitionTime ?? '')) : NaN;
  if (!(releasedAt + lengthMs > Date.parse(kept.until))) return kept.until;
  return new Date(releasedAt + lengthMs).toISOString();
}

function judge(volume: V1PersistentVolume, setOf: (namespace: string, name: string) => V1StatefulSet | undefined,
    nowMs: number): KeptVolumeStatus {
  const name = volume.metadata?.name ?? '';
  const bytes = capacityBytes(volume.spec?.capacity?.storage);
  const base = { volume: name, ...(bytes !== undefined ? { bytes } : {}) };
  const kept = readKeptVolume(volume);
  if (!kept) return { ...base, state: 'edited', why: 'its kept-volume marks were changed or removed since it was kept; left alone' };
  const policy = volume.spec?.persistentVolumeReclaimPolicy;
  if (policy !== 'Retain') {
    return { ...base, kept, state: 'edited', why: `its reclaim policy was changed to ${policy ?? 'none'} since it was kept; left alone` };
  }
  // (Its policy is Retain: it has a spec.)
  const ref = volume.spec!.claimRef;
  if (volume.metadata?.annotations?.[RESTORED_AT_ANNOTATION] !== undefined) {
    // `restore` bound it to a new claim of the old name; once that claim is Bound the keep is over.
    if (ref?.namespace !== kept.namespace || ref.name !== kept.claim) {
      return { ...base, kept, state: 'edited', why: 'it was bound to another claim since it was restored; left alone' };
    }
    if (volume.status?.phase === 'Bound' && ref.uid) {
      return { ...base, kept, state: 'due', why: `restored to a new claim ${kept.claim}; reclaim policy set back to ${kept.policyBefore}` };
    }
    return { ...base, kept, until: kept.until, state: 'kept',
      why: `being restored: kept until the new claim ${kept.claim} is bound to it` };
  }
  if (ref?.uid !== kept.claimUid) {
    return { ...base, kept, state: 'edited', why: 'it was bound to another claim since it was kept; left alone' };
  }
  const until = keepEnd(volume, kept);
  const over = nowMs >= Date.parse(until);
  if (volume.status?.phase !== 'Released') {
    // The claim still exists: being deleted, or its release was called off after the keep was written. Bound
    // to it past the keep, the policy is put back (nothing is deleted while the claim exists).
    if (over && volume.status?.phase === 'Bound') {
      return { ...base, kept, until, state: 'due', why: `its keep ended at ${until} while claim ${kept.claim} still exists; reclaim ` +
        `policy set back to ${kept.policyBefore}` };
    }
    return { ...base, kept, until, state: 'kept', why: `kept until ${until}, and while claim ${kept.claim} still exists` };
  }
  if (!over) return { ...base, kept, until, state: 'kept', why: `kept until ${until}` };
  const set = setOf(kept.namespace, kept.statefulset);
  // The very set (a set recreated under the name holds nothing), not being deleted, grown back over the ordinal.
  if (set?.metadata?.uid === kept.setUid && set.metadata.deletionTimestamp === undefined && inRange(set, kept.ordinal)) {
    return { ...base, kept, until, state: 'held', why: `its keep ended at ${until}, but ordinal ${kept.ordinal} is in range of ` +
      `StatefulSet ${kept.statefulset} again: kept until the set shrinks below it or is deleted` };
  }
  return { ...base, kept, until, state: 'due', why: `its keep ended at ${until}; reclaim policy set back to ${kept.policyBefore}` };
}

const UNITS: Record<string, number> = {
  '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes quantity (`10Gi`, `500M`, `1e9`) in bytes, or undefined when it is not one. */
export function capacityBytes(quantity: string | undefined): number | undefined {
  const m = quantity?.match(/^(\d+(?:\.\d+)?(?:[eE]\d+)?)(|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)$/);
  return m ? Number(m[1]) * UNITS[m[2]!]! : undefined;
}
