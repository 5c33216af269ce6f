// Whether a controller is running, as `status` and `why` tell it: read from the leader Lease that the
// replicas renew. Without one, every state the planner reports is only what *would* happen.
import { statusOf, describeApiError, type KubeApi, type Lease } from '../kube/api.ts';
import { formatDuration } from '../planner/duration.ts';
import { CONTROLLER_NAME } from '../names.ts';

/** Where the install puts the controller (manifests/cluster-wide); a namespaced install keeps its lease beside the sets. */
export const INSTALL_NAMESPACE = CONTROLLER_NAME;

export interface ControllerPresence {
  /** Undefined when the lease could not be read. */
  running: boolean | undefined;
  /** `namespace/name` of the lease read, or of every place looked at when none was found. */
  lease: string;
  holder?: string;
  renewedSecondsAgo?: number;
  /** One line for people: who runs, or that nothing will happen. */
  summary: string;
}

/** A lease found in one of the places looked at, or why none could be read. */
export type LeaseLookup = { lease: Lease } | { missing: string[] } | { error: string; where: string };

export function presenceOf(found: LeaseLookup, now: number): ControllerPresence {
  if ('missing' in found) {
    const where = found.missing.join(' or ');
    return {
      running: false, lease: where,
      summary: `no controller is running: there is no lease ${where} (a controller renews one; if it runs elsewhere, ` +
        'say where with --leader-election-namespace and --leader-election-id)',
    };
  }
  if ('error' in found) {
    return { running: undefined, lease: found.where,
      summary: `whether a controller is running is unknown: the lease ${found.where} cannot be read (${found.error})` };
  }
  const { metadata, spec } = found.lease;
  const lease = `${metadata?.namespace}/${metadata?.name}`;
  const holder = spec?.holderIdentity || undefined;
  const renewed = spec?.renewTime ?? spec?.acquireTime;
  const renewedSecondsAgo = renewed ? Math.max(0, Math.round((now - new Date(renewed).getTime()) / 1000)) : undefined;
  const ago = renewedSecondsAgo === undefined ? 'never' : `${formatDuration(renewedSecondsAgo * 1000)} ago`;
  if (!holder) {
    return { running: false, lease, renewedSecondsAgo,
      summary: `no controller is running: the lease ${lease} was handed back (last renewed ${ago})` };
  }
  const durationSeconds = spec?.leaseDurationSeconds ?? 0;
  if (renewedSecondsAgo === undefined || renewedSecondsAgo > durationSeconds) {
    return {
      running: false, lease, holder, renewedSecondsAgo,
      summary: `no controller is running: the lease ${lease} was last renewed ${ago} by ${holder}, longer ago than its ${durationSeconds}s`,
    };
  }
  return { running: true, lease, holder, renewedSecondsAgo, summary: `controller ${holder} is running (lease ${lease} renewed ${ago})` };
}

/**
 * Reads the lease from each namespace in turn (`namespaces`: the flag's, or the install's and the one
 * being looked at); when several exist, the one renewed last.
 */
export async function findLease(api: Pick<KubeApi, 'getLease'>, namespaces: string[], name: string): Promise<LeaseLookup> {
  const found: Lease[] = [];
  for (const namespace of [...new Set(namespaces)]) {
    try {
      found.push(await api.getLease(namespace, name));
    } catch (err) {
      if (statusOf(err) !== 404) return { error: describeApiError(err), where: `${namespace}/${name}` };
    }
  }
  const renewed = (lease: Lease) => new Date(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? 0).getTime();
  const latest = found.sort((a, b) => renewed(b) - renewed(a))[0];
  return latest ? { lease: latest } : { missing: [...new Set(namespaces)].map((namespace) => `${namespace}/${name}`) };
}

/** What the REASON of each ordinal says when no controller runs. */
export const NOTHING_HAPPENS = 'nothing happens until a controller runs';
