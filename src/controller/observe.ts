// The one way a set's observation is assembled, for the controller (from its cache) and for `status` (from
// one list of each kind): the same inputs give the same plan.
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { candidateSetNamesOfClaim } from '../planner/identity.ts';
import { isManaged } from '../planner/plan.ts';
import { parseDrainerTemplate } from '../planner/template.ts';
import type { SetObservation, TemplateVerdict } from '../planner/types.ts';

/** Read access to the objects that may belong to a set (by `namespace/name` key). */
export interface ClusterReader {
  getSet(key: string): V1StatefulSet | undefined;
  claimsFor(key: string): V1PersistentVolumeClaim[];
  podsFor(key: string): V1Pod[];
}

export function observeSet(reader: ClusterReader, key: string, set: V1StatefulSet, templateVerdict: TemplateVerdict,
    now: Date): SetObservation {
  const claims = reader.claimsFor(key);
  return {
    set, now, templateVerdict, claims,
    template: isManaged(set) ? parseDrainerTemplate(set) : { ok: false, problems: ['not managed'] },
    pods: reader.podsFor(key),
    rivals: rivalsOf(reader, set, claims),
  };
}

/** The other sets of the namespace whose names could own one of the claims. */
function rivalsOf(reader: ClusterReader, set: V1StatefulSet, claims: V1PersistentVolumeClaim[]): V1StatefulSet[] {
  const rivals = new Map<string, V1StatefulSet>();
  for (const claim of claims) {
    for (const name of candidateSetNamesOfClaim(claim.metadata?.name ?? '')) {
      if (name === set.metadata?.name || rivals.has(name)) continue;
      const rival = reader.getSet(`${set.metadata?.namespace}/${name}`);
      if (rival) rivals.set(name, rival);
    }
  }
  return [...rivals.values()];
}
