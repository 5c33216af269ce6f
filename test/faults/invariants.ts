// The safety invariants of ../shared/invariants.md, checked against what really happened: the API
// server's audit log (who wrote what, with which preconditions) and a pod timeline from a watch.
import { controllerReplica, type AuditEvent } from '../harness/audit.ts';
import type { PodSighting } from './history.ts';

/** How much later than the deletion our own watch may see the Succeeded status (watch delivery lag). */
const WATCH_SLACK_MS = 2000;

export function checkInvariants(audit: AuditEvent[], sightings: PodSighting[], leaderGapMs: number): string[] {
  const violations: string[] = [];
  const ours = audit.filter((e) => controllerReplica(e) !== undefined && e.code >= 200 && e.code < 300);

  // 1. A claim is deleted only after a drain pod that mounted that very claim (UID) Succeeded.
  for (const e of ours.filter((x) => x.verb === 'delete' && x.resource === 'persistentvolumeclaims')) {
    const uid = e.requestObject?.preconditions?.uid;
    if (!uid) {
      violations.push(`claim ${e.namespace}/${e.name} deleted without a UID precondition`);
      continue;
    }
    const proof = sightings.find((s) => s.drain && s.phase === 'Succeeded' && s.claimUids.includes(uid) && s.time <= e.time + WATCH_SLACK_MS);
    if (!proof) violations.push(`claim ${e.namespace}/${e.name} (${uid}) deleted at ${new Date(e.time).toISOString()} with no Succeeded drain pod of it`);
  }

  // 4. The controller deletes only drain pods (by UID), never a stateful or foreign pod.
  const drainUids = new Set(sightings.filter((s) => s.drain).map((s) => s.uid));
  for (const e of ours.filter((x) => x.verb === 'delete' && x.resource === 'pods')) {
    const uid = e.requestObject?.preconditions?.uid;
    if (!uid || !drainUids.has(uid)) violations.push(`pod ${e.namespace}/${e.name} deleted by the controller is not a known drain pod (uid ${uid ?? 'none'})`);
  }

  // 2 and 3. At any time one pod per name: never two drain pods of one ordinal, never a drain pod beside its stateful pod.
  const live = new Map<string, string>();
  for (const s of sightings) {
    const key = `${s.namespace}/${s.name}`;
    if (s.kind === 'delete') {
      if (live.get(key) === s.uid) live.delete(key);
    } else if (s.kind === 'add') {
      const other = live.get(key);
      if (other && other !== s.uid) violations.push(`two pods named ${key} at once (${other}, ${s.uid})`);
      live.set(key, s.uid);
    }
  }

  // 6. Two replicas never act at the same time: a change of writer needs at least lease duration minus renew deadline.
  const writes = ours.filter((e) => e.resource !== 'leases' && e.resource !== 'events').sort((a, b) => a.time - b.time);
  for (let i = 1; i < writes.length; i++) {
    const [prev, next] = [writes[i - 1]!, writes[i]!];
    if (controllerReplica(prev) !== controllerReplica(next) && next.time - prev.time < leaderGapMs) {
      violations.push(`replicas ${controllerReplica(prev)} and ${controllerReplica(next)} wrote ${next.time - prev.time} ms apart (${prev.verb} ${prev.resource}/${prev.name}, ${next.verb} ${next.resource}/${next.name})`);
    }
  }
  return violations;
}
