// `restore`: which kept volume each claim of an ordinal gets back, and the claim made for it; or why not. Pure:
// the command reads the set, the claims of that name and the kept volumes, and performs what this decides.
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StatefulSet } from '@kubernetes/client-node';
import { claimLabels, claimName, inRange } from './identity.ts';
import { readKeptVolume, type KeptVolume } from './kept-volumes.ts';
import { RESTORED_ANNOTATION } from './keys.ts';
import { generationOf } from './release-proof.ts';

/** One claim back: its kept volume (bound to the claim's name, its reclaim policy put back), then the claim on it. */
export interface RestoreStep {
  volume: string;
  uid: string;
  resourceVersion: string;
  kept: KeptVolume;
  claim: V1PersistentVolumeClaim;
}

export type RestorePlan = { steps: RestoreStep[] } | { refused: string };

/**
 * The steps that give ordinal `ordinal` of `set` its kept volumes back, one per claim template. `existing`: the
 * names of the ordinal's claims that exist. All or nothing: any claim without a volume to restore refuses the whole.
 */
export function planRestore(set: V1StatefulSet, ordinal: number, existing: string[], volumes: V1PersistentVolume[]): RestorePlan {
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
    if (existing.includes(name)) return { refused: `claim ${namespace}/${name} exists; restore binds a kept volume to a new claim only` };
    const candidates = volumes
      .map((volume) => ({ volume, kept: readKeptVolume(volume) }))
      .filter((c): c is { volume: V1PersistentVolume; kept: KeptVolume } =>
        c.kept?.namespace === namespace && c.kept.claim === name && c.kept.statefulset === setName)
      .sort((a, b) => Date.parse(b.kept.keptAt) - Date.parse(a.kept.keptAt));
    const latest = candidates[0];
    if (!latest) {
      return { refused: `no kept volume of claim ${namespace}/${name}: it was not kept, or its keep ended and it was reclaimed ` +
        '(`kubectl get pv -l drain.statefulsets.kubernetes.io/kept-volume=true` lists those kept)' };
    }
    const { volume, kept } = latest;
    // (A kept volume has metadata: its marks are on it.)
    const volumeName = volume.metadata!.name ?? '';
    const boundTo = volume.spec?.claimRef?.uid;
    if (volume.status?.phase !== 'Released' || boundTo !== kept.claimUid) {
      return { refused: `volume ${volumeName} of claim ${name} is ${volume.status?.phase ?? 'in no phase'} and bound to ` +
        `${boundTo === kept.claimUid ? 'its old claim still' : 'another claim'}; restore it by hand` };
    }
    steps.push({
      volume: volumeName, uid: volume.metadata!.uid ?? '', resourceVersion: volume.metadata!.resourceVersion ?? '', kept,
      claim: {
        apiVersion: 'v1', kind: 'PersistentVolumeClaim',
        // As the StatefulSet controller makes a claim: the template's labels and the set's selector labels.
        metadata: { name, namespace, labels: { ...template.metadata?.labels, ...claimLabels(set) },
          annotations: { [RESTORED_ANNOTATION]: `${volumeName}/${generationOf(set)}` } },
        spec: { ...template.spec, volumeName },
      } });
  }
  return { steps };
}
