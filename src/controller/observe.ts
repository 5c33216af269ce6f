// The one way a set's observation is assembled, for the controller (from its cache) and for `status` (from
// one list of each kind): the same inputs give the same plan.
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { isManaged } from '../planner/plan.ts';
import { parseDrainerTemplate } from '../planner/template.ts';
import type { SetObservation, TemplateVerdict } from '../planner/types.ts';

/** Read access to the objects that may belong to a set (by `namespace/name` key). */
export interface ClusterReader {
  getSet(key: string): V1StatefulSet | undefined;
  claimsFor(key: string): V1PersistentVolumeClaim[];
  podsFor(key: string): V1Pod[];
}

export function observeSet(reader: ClusterReader, key: string, set: V1StatefulSet, templateVerdict: TemplateVerdict, now: Date): SetObservation {
  return {
    set, now, templateVerdict,
    template: isManaged(set) ? parseDrainerTemplate(set) : { ok: false, problems: ['not managed'] },
    claims: reader.claimsFor(key),
    pods: reader.podsFor(key),
  };
}
