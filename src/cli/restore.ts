// `statefulset-drain-controller restore <set> <ordinal>`: binds each kept volume of a released ordinal to a new
// claim of its old name, so that the next scale-up over the ordinal starts on the old data. Two writes per claim:
// the volume is bound to the claim's name (its stale claimRef replaced, conditional on the volume as read; it
// stays Retain and kept), then the claim is created on it. Once the claim is bound, the controller puts the
// volume's reclaim policy back. A crash between the two writes leaves a volume that only a claim of that name in
// that namespace can bind, still kept: running restore again finishes it.
import { KubeApi } from '../kube/api.ts';
import { KubeHttpClient } from '../kube/http-client.ts';
import { loadConnectionConfig } from '../kube/connection-config.ts';
import { orUndefinedIfGone } from '../controller/release-guard.ts';
import { claimName } from '../planner/identity.ts';
import { KEPT_VOLUME_LABEL, RESTORED_AT_ANNOTATION } from '../planner/keys.ts';
import { planRestore } from '../planner/restore.ts';
import { CONTROLLER_NAME } from '../names.ts';
import { version } from './version.ts';
import { EventRecorder } from '../controller/events.ts';
import { createLogger } from '../log.ts';

export interface RestoreOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** Why a restore was refused, in a line; nothing was written. */
export class RestoreRefusedError extends Error {}

export async function restore(options: RestoreOptions, setName: string, ordinalText: string): Promise<string[]> {
  const ordinal = Number(ordinalText);
  if (!Number.isInteger(ordinal) || ordinal < 0) throw new RestoreRefusedError(`ordinal ${JSON.stringify(ordinalText)} is not a number`);
  const connection = loadConnectionConfig({ kubeconfig: options.kubeconfig, context: options.context });
  const api = new KubeApi(new KubeHttpClient(connection, `${CONTROLLER_NAME}/${version} (restore)`), { qps: 0, burst: 1 });
  const namespace = options.namespace ?? connection.namespace ?? 'default';
  const set = await orUndefinedIfGone(api.getStatefulSet(namespace, setName));
  if (!set) throw new RestoreRefusedError(`no StatefulSet ${namespace}/${setName}`);
  const names = (set.spec?.volumeClaimTemplates ?? []).map((t) => claimName(t.metadata?.name ?? '', setName, ordinal));
  const existing = (await Promise.all(names.map((name) => orUndefinedIfGone(api.getClaim(namespace, name)))))
    .filter((c) => c !== undefined);
  const { items: volumes } = await api.listVolumes({ labelSelector: `${KEPT_VOLUME_LABEL}=true` });
  const plan = planRestore(set, ordinal, existing, volumes);
  if ('refused' in plan) throw new RestoreRefusedError(plan.refused);
  const said: string[] = [];
  for (const step of plan.steps) {
    const claim = step.claim.metadata!.name!;
    if (step.claimExists) {
      said.push(`claim ${namespace}/${claim} was restored on volume ${step.volume} already`);
      continue;
    }
    await api.patchVolume(step.volume, step.uid, step.resourceVersion, {
      metadata: { annotations: { [RESTORED_AT_ANNOTATION]: new Date().toISOString() } },
      spec: { claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name: claim, uid: null, resourceVersion: null } },
    });
    await api.createClaim(step.claim);
    // Best effort: who may restore need not be allowed to record events (a refusal is printed, not fatal).
    await new EventRecorder(api, 'restore', createLogger('warn', 'text'), { qps: 0, burst: 1 }).recordNow(set, {
      type: 'Normal', reason: 'VolumeRestored', action: 'RestoreVolume',
      note: `kept volume ${step.volume} bound to a new claim ${claim}, for the next scale-up over ordinal ${ordinal}`,
      related: { kind: 'PersistentVolumeClaim', name: claim },
    });
    said.push(`volume ${step.volume} (kept ${step.kept.keptAt}, drained by pod ${step.kept.drainPodUid}) is bound to a new claim ` +
      `${namespace}/${claim}; once it is bound, the controller puts its reclaim policy (${step.kept.policyBefore}) back`);
  }
  said.push(`scale ${namespace}/${setName} to ${ordinal + 1} or more (kubectl scale sts ${setName} -n ${namespace} ` +
    `--replicas=${ordinal + 1}) for replica ${setName}-${ordinal} to start on the restored data; until the set changes, the ` +
    'controller does not drain it');
  return said;
}
