// `restore`: which kept volume each claim of an ordinal gets back, and the claim made for it; or why not. Pure:
// the command reads the set, the claims of that name and the kept volumes, and performs what this decides.
// A restore that stopped half-way (the volume bound to the name, its claim not created) is finished by running
// it again; a claim it already made is left as it is.
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StatefulSet } from '@kubernetes/client-node';
import { claimLabels, claimName, inRange } from './identity.ts';
import { readKeptVolume, type KeptVolume } from './kept-volumes.ts';
import { RESTORED_ANNOTATION, RESTORED_AT_ANNOTATION } from './keys.ts';
import { generationOf } from './release-proof.ts';

/**
 * One claim back: its kept volume bound to the claim's name (it stays Retain and kept until the claim is bound;
 * the controller then puts its policy back), then the claim made on it, unless `restore` made it already.
 */
export interface RestoreStep {
  volume: string;
  uid: string;
  resourceVersion: string;
  kept: KeptVolume;
  claim: V1PersistentVolumeClaim;
  claimExists: boolean;
}

export type RestorePlan = { steps: RestoreStep[] } | { refused: string };

/** `<volume>/<set UID>/<set generation>`: the claim is held from drains while the set is that very set at that generation. */
export function restoredMark(volume: string, set: V1StatefulSet): string {
  return `${volume}/${set.metadata?.uid ?? ''}/${generationOf(set)}`;
}

/**
 * The steps that give ordinal `ordinal` of `set` its kept volumes back, one per claim template. `existing`: the
 * ordinal's claims that exist. All or nothing: any claim without a volume to restore refuses the whole.
 */
export function planRestore(set: V1StatefulSet, ordinal: number, existing: V1PersistentVolumeClaim[],
    volumes: V1PersistentVolume[]): RestorePlan {
  const namespace = set.metadata?.namespace ?? '';
  const setName = set.metadata?.name ?? '';
  if (inRange(set, ordinal)) {
    return { refused: `ordinal ${ordinal} is in range of StatefulSet ${namespace}/${setName} (replicas ${set.spec?.replicas ?? 1}): ` +
      'its replica has its claims; restore only an ordinal the set has shrunk below' };
  }
  const templates = set.spec?.volumeClaimTemplates ?? [];
  if (templates.length === 0) return { refused: `StatefulSet ${namespace}/${setName} has no volumeClaimTemplates` };
  const steps: RestoreStep[] = [];
  for (const template of templates) {
    const name = claimName(template.metadata?.name ?? '', setName, ordinal);
    const latest = volumes
      .map((volume) => ({ volume, kept: readKeptVolume(volume) }))
      .filter((c): c is { volume: V1PersistentVolume; kept: KeptVolume } =>
        c.kept?.namespace === namespace && c.kept.claim === name && c.kept.statefulset === setName)
      .sort((a, b) => Date.parse(b.kept.keptAt) - Date.parse(a.kept.keptAt))[0];
    const claim = existing.find((c) => c.metadata?.name === name);
    if (!latest) {
      return { refused: `no kept volume of claim ${namespace}/${name}: it was not kept, or its keep ended and it was reclaimed ` +
        '(`kubectl get pv -l drain.statefulsets.kubernetes.io/kept-volume=true` lists those kept)' };
    }
    const { volume, kept } = latest;
    // (A kept volume has metadata: its marks are on it.)
    const volumeName = volume.metadata!.name ?? '';
    const ours = claim?.metadata?.annotations?.[RESTORED_ANNOTATION]?.startsWith(`${volumeName}/`) === true;
    if (claim && !ours) return { refused: `claim ${namespace}/${name} exists; restore binds a kept volume to a new claim only` };
    const ref = volume.spec?.claimRef;
    const released = volume.status?.phase === 'Released' && ref?.uid === kept.claimUid;
    // Bound to the name by a restore that stopped before its claim was made (or before that claim was bound).
    const halfway = volume.metadata!.annotations?.[RESTORED_AT_ANNOTATION] !== undefined && ref?.namespace === namespace &&
      ref.name === name && (!ref.uid || ref.uid === claim?.metadata?.uid);
    if (!released && !halfway) {
      return { refused: `volume ${volumeName} of claim ${name} is ${volume.status?.phase ?? 'in no phase'} and bound to ` +
        `${ref?.uid === kept.claimUid ? 'its old claim still' : 'another claim'}; restore it by hand` };
    }
    steps.push({
      volume: volumeName, uid: volume.metadata!.uid ?? '', resourceVersion: volume.metadata!.resourceVersion ?? '', kept,
      claimExists: claim !== undefined,
      claim: {
        apiVersion: 'v1', kind: 'PersistentVolumeClaim',
        // As the StatefulSet controller makes a claim: the template's labels and the set's selector labels.
        metadata: { name, namespace, labels: { ...template.metadata?.labels, ...claimLabels(set) },
          annotations: { [RESTORED_ANNOTATION]: restoredMark(volumeName, set) } },
        spec: { ...template.spec, volumeName },
      } });
  }
  return { steps };
}
