// Whether this replica may keep volumes (drainer-keep-volume): volumes are cluster-scoped, so the permissions
// are granted apart (manifests/keep-volume, the chart's keepVolume.enabled), and asked for once at start-up.
import type { KubeApi } from '../kube/api.ts';

/** What keeping volumes needs: reads before a keep and for their expiry, and the patch of both. */
export const KEEP_VOLUME_VERBS = ['get', 'list', 'patch'] as const;

/** --keep-volume was given, and the permissions it needs were not. */
export class KeepVolumePermissionError extends Error {}

/** The verbs on persistentvolumes this replica's credentials lack (SelfSubjectAccessReviews). */
export async function missingVolumeVerbs(api: Pick<KubeApi, 'mayI'>): Promise<string[]> {
  const allowed = await Promise.all(KEEP_VOLUME_VERBS.map((verb) => api.mayI(verb, '', 'persistentvolumes')));
  return KEEP_VOLUME_VERBS.filter((_, i) => !allowed[i]);
}

export function keepVolumeRefusal(missing: string[]): KeepVolumePermissionError {
  return new KeepVolumePermissionError(`--keep-volume needs ${missing.join(', ')} on persistentvolumes (cluster-wide), which the ` +
    'controller\'s ServiceAccount lacks: apply manifests/keep-volume, or install the chart with keepVolume.enabled=true ' +
    '(docs/security.md#permissions)');
}
