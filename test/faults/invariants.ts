// The safety invariants of ../shared/invariants.md, checked against what really happened: the API server's
// audit log (who created which pod with which volumes, who wrote which phase, how each set was scaled, who
// deleted what with which preconditions) and a pod timeline from a watch. Nothing here trusts what a pod says
// about itself: a pod proves a drain only if the audit log shows the controller created it.
import {
  CLAIMS_ANNOTATION, DRAINED_ANNOTATION, KEPT_CLAIM_ANNOTATION, KEPT_CLAIM_UID_ANNOTATION, KEPT_ORDINAL_ANNOTATION, KEPT_SET_ANNOTATION,
  KEPT_UNTIL_ANNOTATION, KEPT_VOLUME_LABEL, ROLE_LABEL, ROLE_PLACEHOLDER,
} from '../../src/planner/keys.ts';
import { committedBefore, controllerReplica, type AuditEvent } from '../../local-cluster/audit.ts';
import type { PodSighting } from './history.ts';

export interface CheckOptions {
  /** Lease duration minus renew deadline: the least time between two replicas' writes. */
  leaderGapMs: number;
  /** The claim template names of the sets under test. */
  claimTemplates: string[];
  /** OrderedReady sets (`namespace/name`): never two of their drain pods at once. */
  orderedReady?: string[];
  /**
   * Told of each write that landed after a scale-up brought its ordinal back, but was decided on the
   * controller's quorum read of the set made before that scale-up (no API makes a write conditional on
   * another object): what happened then is what a scale-up a moment later would have met.
   */
  notice?: (text: string) => void;
  /**
   * Which replica of the controller made a request, or undefined for anyone else. Default: the replica named
   * in the controller's User-Agent, which any client can send; the fault suite runs each replica as its own
   * ServiceAccount and names it by the audit log's user instead (serviceAccountReplica).
   */
  replicaOf?: (e: AuditEvent) => string | undefined;
  /** Sets (`namespace/name`) whose input the controller must refuse: it may write nothing for them but events. */
  refusedSets?: string[];
  /**
   * Sets (`namespace/name`) with drainer-keep-volume, and the keep in ms: each claim released only while its
   * volume is kept for (about) that long after the release.
   */
  keptSets?: Record<string, number>;
  /**
   * Checks one world of a batch: only what happened in this namespace, and the leader check only for pairs
   * of writes of which one was here (the replicas are shared by every world).
   */
  namespace?: string;
}

const ok = (e: AuditEvent) => e.code >= 200 && e.code < 300;

/** Each set's replicas over time, from its create and every scale or update in the audit log. */
class RangeHistory {
  private readonly changes = new Map<string, Array<{ time: number; start: number; replicas: number }>>();

  constructor(audit: AuditEvent[]) {
    for (const e of audit) {
      if (!ok(e) || (e.resource !== 'statefulsets' && e.resource !== 'statefulsets/scale')) continue;
      const replicas = e.requestObject?.spec?.replicas;
      if (replicas === undefined) continue;
      const key = `${e.namespace}/${e.name}`;
      const list = this.changes.get(key) ?? [];
      list.push({ time: e.time, start: e.requestObject?.spec?.ordinals?.start ?? list.at(-1)?.start ?? 0, replicas });
      this.changes.set(key, list);
    }
    for (const list of this.changes.values()) list.sort((a, b) => a.time - b.time);
  }

  sets(): string[] {
    return [...this.changes.keys()];
  }

  inRange(set: string, ordinal: number, time: number): boolean {
    const at = (this.changes.get(set) ?? []).filter((c) => c.time <= time).at(-1);
    return at !== undefined && ordinal >= at.start && ordinal < at.start + at.replicas;
  }
}

interface Identity {
  set: string;
  ordinal: number;
}

function podIdentity(namespace: string | undefined, name: string | undefined, sets: string[]): Identity | undefined {
  for (const set of sets) {
    const [ns, setName] = set.split('/');
    if (ns !== namespace || !name?.startsWith(`${setName}-`)) continue;
    const tail = name.slice(setName!.length + 1);
    if (/^(0|[1-9][0-9]*)$/.test(tail)) return { set, ordinal: Number(tail) };
  }
  return undefined;
}

function claimIdentity(namespace: string | undefined, name: string | undefined, sets: string[], templates: string[]): Identity | undefined {
  for (const template of templates) {
    if (name?.startsWith(`${template}-`)) {
      const id = podIdentity(namespace, name.slice(template.length + 1), sets);
      if (id) return id;
    }
  }
  return undefined;
}

function listedClaimUids(e: AuditEvent): string[] {
  try {
    return (JSON.parse(e.requestObject?.metadata?.annotations?.[CLAIMS_ANNOTATION] ?? '[]') as Array<{ uid?: string }>)
      .map((c) => c.uid ?? '');
  } catch {
    return [];
  }
}

const isPlaceholder = (e: AuditEvent) => e.requestObject?.metadata?.labels?.[ROLE_LABEL] === ROLE_PLACEHOLDER;

/**
 * The last quorum read of the set that the replica which made `write` completed before it: what the
 * executor decided that write on (it reads the set from etcd before a plan's drain pod creates and before
 * each claim delete).
 */
function decidingRead(audit: AuditEvent[], write: AuditEvent, set: string, replicaOf: (e: AuditEvent) => string | undefined)
  : AuditEvent | undefined {
  const [namespace, name] = set.split('/');
  const replica = replicaOf(write);
  return audit.filter((r) => ok(r) && r.verb === 'get' && r.resource === 'statefulsets' && r.namespace === namespace && r.name === name
    && replicaOf(r) === replica && r.time <= write.time).at(-1);
}

/** Whether the set as `read` returned it has `ordinal` out of its range. */
function outOfRangeIn(read: AuditEvent, ordinal: number): boolean {
  const spec = read.responseObject?.spec;
  const start = spec?.ordinals?.start ?? 0;
  return spec?.replicas === undefined || ordinal < start || ordinal >= start + spec.replicas;
}

const mountedClaims = (e: AuditEvent) => (e.requestObject?.spec?.volumes ?? []).flatMap((v) => v.persistentVolumeClaim?.claimName ?? []);

export function checkInvariants(everything: AuditEvent[], allSightings: PodSighting[], options: CheckOptions): string[] {
  const replicaOf = options.replicaOf ?? controllerReplica;
  const here = (namespace: string | undefined) => options.namespace === undefined || namespace === options.namespace;
  const audit = everything.filter((e) => here(e.namespace));
  const sightings = allSightings.filter((s) => here(s.namespace));
  const violations: string[] = [];
  const ranges = new RangeHistory(audit);
  const sets = ranges.sets();
  // The controller's writes (its quorum reads are in the audit log too, to check what each write was decided on).
  const ours = audit.filter((e) => replicaOf(e) !== undefined && ok(e) && e.verb !== 'get');
  const podCreates = audit.filter((e) => ok(e) && e.verb === 'create' && e.resource === 'pods');
  const ourCreates = podCreates.filter((e) => replicaOf(e) !== undefined);

  // 7. A drain pod mounts only claims of its own ordinal, and is created only while that ordinal is out of range.
  // A placeholder mounts no claim (it only holds the name, wherever the range is).
  for (const e of ourCreates) {
    const pod = podIdentity(e.namespace, e.name, sets);
    if (!pod) {
      violations.push(`the controller created pod ${e.namespace}/${e.name}, which is no ordinal of a known set`);
      continue;
    }
    if (isPlaceholder(e)) {
      if (mountedClaims(e).length > 0) violations.push(`placeholder ${e.namespace}/${e.name} mounts ${mountedClaims(e).join(', ')}`);
      continue;
    }
    // Decided on a quorum read of the set that showed the ordinal out of range; a scale-up that landed after
    // that read meets a drain pod holding the name, which the returning replica waits for, its claims kept.
    const read = decidingRead(audit, e, pod.set, replicaOf);
    if (!read) violations.push(`drain pod ${e.namespace}/${e.name} created without a quorum read of ${pod.set} before it`);
    else if (!outOfRangeIn(read, pod.ordinal))
      violations.push(`drain pod ${e.namespace}/${e.name} created on a read of ${pod.set} that had ordinal ${pod.ordinal} in range`);
    else if (ranges.inRange(pod.set, pod.ordinal, e.time)) {
      options.notice?.(`drain pod ${e.namespace}/${e.name} created ${e.time - read.time} ms after the read it was decided on; ` +
        `ordinal ${pod.ordinal} was back in range by then`);
    }
    for (const claim of mountedClaims(e)) {
      const id = claimIdentity(e.namespace, claim, sets, options.claimTemplates);
      if (id && (id.set !== pod.set || id.ordinal !== pod.ordinal))
        violations.push(`drain pod ${e.namespace}/${e.name} mounts ${claim}, a claim of another ordinal`);
    }
  }

  // 1. A claim is deleted only after a drain pod that the controller created for that claim's own ordinal,
  // while it was out of range, mounting that very claim (name and UID), reached Succeeded, and only while the
  // controller's placeholder, created right after that drain pod (no pod of that name between them: no replica
  // used the claim since), held the ordinal's name: all from the audit log.
  for (const e of ours.filter((x) => x.verb === 'delete' && x.resource === 'persistentvolumeclaims')) {
    const uid = e.requestObject?.preconditions?.uid;
    const where = `claim ${e.namespace}/${e.name} (${uid ?? 'no uid'}) deleted at ${new Date(e.time).toISOString()}`;
    if (!uid) {
      violations.push(`${where} without a UID precondition`);
      continue;
    }
    const id = claimIdentity(e.namespace, e.name, sets, options.claimTemplates);
    if (!id) {
      violations.push(`${where}: not a claim of a known set`);
      continue;
    }
    // The pods that last held the ordinal's name: the placeholder holding it at the delete, and the drain pod before it.
    const underName = podCreates.filter((p) => p.namespace === e.namespace && p.name === `${id.set.split('/')[1]}-${id.ordinal}` &&
      committedBefore(p, e));
    const placeholder = underName.at(-1);
    if (!placeholder || replicaOf(placeholder) === undefined || !isPlaceholder(placeholder)) {
      violations.push(`${where}: no placeholder of the controller held ordinal ${id.ordinal}'s name (${placeholder?.userAgent ?? 'none'})`);
      continue;
    }
    const placeholderUid = placeholder.responseObject?.metadata?.uid;
    const freed = audit.find((x) => ok(x) && x.verb === 'delete' && x.resource === 'pods' &&
      x.requestObject?.preconditions?.uid === placeholderUid && committedBefore(x, e));
    if (freed) violations.push(`${where}: placeholder ${placeholder.name} had been deleted before`);
    const succeededBefore = (pod: AuditEvent) => audit.some((s) => ok(s) && s.resource === 'pods/status' &&
      s.namespace === e.namespace && s.name === pod.name
      && s.requestObject?.status?.phase === 'Succeeded' && committedBefore(pod, s) && committedBefore(s, e)
      && !podCreates.some((later) => later.name === pod.name && later.namespace === pod.namespace && committedBefore(pod, later) &&
        committedBefore(later, s)));
    // The drain that proves the release: the last pod under the name before the placeholder, passing over the
    // controller's own attempts that never Succeeded (a drain withdrawn because its record was refused proves
    // nothing and harms nothing) and its own earlier placeholders (one that the StatefulSet controller deleted
    // by name, taking it for the replica its stale cache still had, is made again); anyone else's pod in
    // between (a returning replica) stops the search.
    const before = underName.slice(0, -1);
    const deletedByOthers = (p: AuditEvent) => audit.some((x) => ok(x) && x.verb === 'delete' && x.resource === 'pods' &&
      x.namespace === p.namespace && x.name === p.name && replicaOf(x) === undefined && committedBefore(p, x) && committedBefore(x, e));
    let at = before.length - 1;
    while (at > 0 && replicaOf(before[at]!) !== undefined &&
      (isPlaceholder(before[at]!) ? deletedByOthers(before[at]!) : !succeededBefore(before[at]!))) at--;
    const holder = before[at];
    if (!holder || replicaOf(holder) === undefined || isPlaceholder(holder)) {
      violations.push(`${where}: the pod of ordinal ${id.ordinal} before the placeholder was not a drain pod of the controller ` +
        `(${holder?.userAgent ?? 'none'})`);
      continue;
    }
    if (!listedClaimUids(holder).includes(uid) || !mountedClaims(holder).includes(e.name ?? '')) {
      violations.push(`${where}: drain pod ${holder.name} was not created for that claim`);
    }
    if (!succeededBefore(holder)) violations.push(`${where}: drain pod ${holder.name} had not Succeeded`);
    const recordedPod = audit.filter((x) => ok(x) && x.resource === 'persistentvolumeclaims' && x.verb === 'patch' &&
      x.namespace === e.namespace && x.name === e.name && replicaOf(x) !== undefined &&
      x.requestObject?.metadata?.annotations?.[DRAINED_ANNOTATION] && committedBefore(x, e)).at(-1)
      ?.requestObject?.metadata?.annotations?.[DRAINED_ANNOTATION]?.split('/')[0];
    if (recordedPod !== undefined && recordedPod !== holder.responseObject?.metadata?.uid) {
      violations.push(`${where}: the success recorded on the claim (${recordedPod ?? 'none'}) is not drain pod ${holder.name}'s`);
    }
    // Decided on a quorum read of the set, made after the placeholder took the name, that had the ordinal out
    // of range at the generation recorded with the drain's success. A scale-up landing between that read and
    // the delete finds the name held: no replica can have used the claim, which holds what was drained.
    const read = decidingRead(audit, e, id.set, replicaOf);
    const recorded = audit.filter((x) => ok(x) && x.resource === 'persistentvolumeclaims' && x.verb === 'patch' &&
      x.namespace === e.namespace
      && x.name === e.name && replicaOf(x) !== undefined && x.requestObject?.metadata?.annotations?.[DRAINED_ANNOTATION] &&
        committedBefore(x, e)).at(-1);
    const generation = recorded?.requestObject?.metadata?.annotations?.[DRAINED_ANNOTATION]?.split('/')[1];
    if (!read || read.time < placeholder.time) {
      violations.push(`${where}: no quorum read of ${id.set} by the deleting replica after the placeholder took the name`);
    } else if (!outOfRangeIn(read, id.ordinal)) {
      violations.push(`${where}: decided on a read of ${id.set} that had ordinal ${id.ordinal} in range`);
    } else if (generation === undefined || String(read.responseObject?.metadata?.generation) !== generation) {
      violations.push(`${where}: the set read (generation ${read.responseObject?.metadata?.generation}) was not at the generation of the ` +
        `drain's success (${generation ?? 'none recorded'})`);
    } else if (ranges.inRange(id.set, id.ordinal, e.time)) {
      options.notice?.(`${where}, ${e.time - read.time} ms after the read it was decided on; ordinal ${id.ordinal} was back in range by ` +
        `then, its name held by the placeholder`);
    }
  }

  // 10. No replica starts on a claim the controller released while that claim still exists (being deleted):
  // its last create or delete before the pod's create must not be the controller's delete.
  for (const e of podCreates.filter((p) => replicaOf(p) === undefined)) {
    const pod = podIdentity(e.namespace, e.name, sets);
    for (const claim of pod ? mountedClaims(e) : []) {
      const id = claimIdentity(e.namespace, claim, sets, options.claimTemplates);
      if (!id || id.set !== pod!.set || id.ordinal !== pod!.ordinal) continue;
      const last = audit.filter((x) => ok(x) && x.resource === 'persistentvolumeclaims' && x.namespace === e.namespace && x.name === claim
        && (x.verb === 'create' || x.verb === 'delete') && committedBefore(x, e)).at(-1);
      // Its deletion completes when the last finalizer goes: PVC protection's update without its finalizer.
      const finalized = last !== undefined && audit.some((x) => ok(x) && x.verb === 'update' && x.resource === 'persistentvolumeclaims'
        && x.namespace === e.namespace && x.name === claim && x.requestObject?.metadata?.uid === last.requestObject?.preconditions?.uid
        && !(x.requestObject?.metadata?.finalizers ?? []).includes('kubernetes.io/pvc-protection') &&
          committedBefore(last, x) && committedBefore(x, e));
      if (last?.verb === 'delete' && replicaOf(last) !== undefined && !finalized) {
        violations.push(`pod ${e.namespace}/${e.name} created at ${new Date(e.time).toISOString()} on claim ${claim}, which the ` +
          `controller had released and which was still being deleted`);
      }
    }
  }

  // 4. The controller deletes only pods it created itself (by UID), never a stateful or foreign pod; a
  // look-alike drain pod that is not running (finished, or Pending on claims that are gone) is the one
  // exception (see README, threat model): one whose last phase written before the delete (audit log, not the
  // pod timeline, whose watch may lag behind the controller's) was Running still held its ordinal.
  const created = new Set(ourCreates.map((e) => e.responseObject?.metadata?.uid));
  const lookAlikes = new Set(sightings.filter((s) => s.drain).map((s) => s.uid));
  for (const e of ours.filter((x) => x.verb === 'delete' && x.resource === 'pods')) {
    const uid = e.requestObject?.preconditions?.uid;
    const lastPhase = audit.filter((s) => ok(s) && s.resource === 'pods/status' && s.namespace === e.namespace && s.name === e.name
      && s.responseObject?.metadata?.uid === uid && s.requestObject?.status?.phase !== undefined && committedBefore(s, e))
        .at(-1)?.requestObject?.status?.phase;
    const lookAlike = uid !== undefined && lookAlikes.has(uid) && lastPhase !== 'Running';
    if (!uid || (!created.has(uid) && !lookAlike)) {
      violations.push(`pod ${e.namespace}/${e.name} deleted by the controller is neither its own drain pod nor a drain look-alike that ` +
        `had stopped (uid ${uid ?? 'none'})`);
    }
  }

  // 2 and 3. At any time one pod per name: never two drain pods of one ordinal, never a drain pod beside its stateful pod.
  const live = new Map<string, string>();
  const liveDrains = new Map<string, Set<string>>();
  for (const s of sightings) {
    const key = `${s.namespace}/${s.name}`;
    const pod = podIdentity(s.namespace, s.name, sets);
    const drains = pod ? liveDrains.get(pod.set) ?? new Set<string>() : undefined;
    const other = live.get(key);
    if (s.kind === 'delete') {
      // A delete found by a resync (the name vanished while the watch was down) names no UID: whatever held the name is gone.
      const gone = s.uid === '' ? other : s.uid;
      if (gone !== undefined && other === gone) live.delete(key);
      if (gone !== undefined) drains?.delete(gone);
    } else if (s.kind === 'update' && other !== undefined && other !== s.uid) {
      // The watch resynced (after 410 Gone) while the name changed hands: the new pod arrives as an update of
      // the name. The state it was listed from held the new pod and not the old one, so the old one is gone.
      drains?.delete(other);
      live.set(key, s.uid);
      if (pod && drains && s.drain && created.has(s.uid)) drains.add(s.uid);
    } else if (s.kind === 'add') {
      if (other && other !== s.uid) violations.push(`two pods named ${key} at once (${other}, ${s.uid})`);
      live.set(key, s.uid);
      if (pod && drains && s.drain && created.has(s.uid)) {
        drains.add(s.uid);
        liveDrains.set(pod.set, drains);
        // 8. OrderedReady: one drain at a time.
        if ((options.orderedReady ?? []).includes(pod.set) && drains.size > 1)
          violations.push(`two drain pods of OrderedReady set ${pod.set} at once (${[...drains].join(', ')})`);
      }
    }
  }

  // 5. Invalid input changes nothing but events: no write to a refused set, its pods or its claims.
  for (const set of options.refusedSets ?? []) {
    const [ns, name] = set.split('/');
    const touches = (e: AuditEvent) => e.namespace === ns && (e.name === name || e.name?.startsWith(`${name}-`)
      || options.claimTemplates.some((t) => e.name?.startsWith(`${t}-${name}-`)));
    for (const e of ours.filter((x) => x.resource !== 'events' && x.resource !== 'leases' && touches(x))) {
      violations.push(`the controller wrote ${e.verb} ${e.resource}/${e.name} for ${set}, whose input it must refuse`);
    }
  }

  violations.push(...checkKeptVolumes(everything, audit, ranges, replicaOf, options));

  // 6. Two replicas never act at the same time: a change of writer needs at least lease duration minus renew deadline.
  const writes = everything.filter((e) => replicaOf(e) !== undefined && ok(e) && e.verb !== 'get' && e.resource !== 'leases' &&
    e.resource !== 'events')
    .sort((a, b) => a.time - b.time);
  for (let i = 1; i < writes.length; i++) {
    const [prev, next] = [writes[i - 1]!, writes[i]!];
    if (replicaOf(prev) !== replicaOf(next) && next.time - prev.time < options.leaderGapMs &&
        (here(prev.namespace) || here(next.namespace))) {
      violations.push(`replicas ${replicaOf(prev)} and ${replicaOf(next)} wrote ${next.time - prev.time} ms apart ` +
        `(${prev.verb} ${prev.resource}/${prev.name}, ${next.verb} ${next.resource}/${next.name})`);
    }
  }
  return violations;
}

/**
 * How early the end of a keep may be put back, at most: the controller judges by the API server's clock as
 * each response's Date header bounds it (to the second), and two replicas' estimates may differ by that much each.
 */
export const KEEP_END_TOLERANCE_MS = 2_500;

/**
 * 11. drainer-keep-volume: a kept set's claim is deleted only after the controller set its volume to Retain and
 * marked it with that very claim (name and UID); a keep's end (the policy put back, the label dropped) comes no
 * earlier than the time the keep wrote, and never while the ordinal is in the set's range on the read it was
 * decided on. Volumes are cluster-scoped: their writes are found in `everything`, by the claim they name.
 */
function checkKeptVolumes(everything: AuditEvent[], audit: AuditEvent[], ranges: RangeHistory,
    replicaOf: (e: AuditEvent) => string | undefined, options: CheckOptions): string[] {
  const violations: string[] = [];
  const volumeWrites = everything.filter((e) => ok(e) && e.resource === 'persistentvolumes' && e.verb === 'patch' &&
    replicaOf(e) !== undefined);
  const keeps = volumeWrites.filter((e) => e.requestObject?.metadata?.annotations?.[KEPT_CLAIM_UID_ANNOTATION] !== undefined &&
    e.requestObject.spec?.persistentVolumeReclaimPolicy === 'Retain');
  const claimOf = (e: AuditEvent) => e.requestObject?.metadata?.annotations?.[KEPT_CLAIM_ANNOTATION];
  for (const [set, keepMs] of Object.entries(options.keptSets ?? {})) {
    const [namespace] = set.split('/');
    const deletes = audit.filter((x) => replicaOf(x) !== undefined && ok(x) && x.verb === 'delete' &&
      x.resource === 'persistentvolumeclaims' && x.namespace === namespace);
    for (const e of deletes) {
      const id = claimIdentity(e.namespace, e.name, ranges.sets(), options.claimTemplates);
      if (id?.set !== set) continue;
      const uid = e.requestObject?.preconditions?.uid;
      const where = `claim ${e.namespace}/${e.name} (${uid}) of kept set ${set}`;
      const keep = keeps.filter((k) => claimOf(k) === `${e.namespace}/${e.name}` && committedBefore(k, e) &&
        k.requestObject?.metadata?.annotations?.[KEPT_CLAIM_UID_ANNOTATION] === uid).at(-1);
      if (!keep) {
        violations.push(`${where} deleted before its volume was kept`);
        continue;
      }
      // In force for the keep after the release: not ended since, and ending no sooner than a retry may leave it
      // (drain-control.ts: a tenth of the keep, at most a minute) less the clocks' tolerance.
      const until = Date.parse(keep.requestObject!.metadata!.annotations![KEPT_UNTIL_ANNOTATION] ?? '');
      const ended = volumeWrites.some((w) => w.name === keep.name && committedBefore(keep, w) && committedBefore(w, e) &&
        w.requestObject?.metadata?.labels?.[KEPT_VOLUME_LABEL] === null);
      const least = e.time + keepMs - Math.min(keepMs / 10, 60_000) - KEEP_END_TOLERANCE_MS;
      if (ended) violations.push(`${where} deleted after the keep of its volume ${keep.name} had ended`);
      else if (!(until >= least)) {
        violations.push(`${where} deleted at ${new Date(e.time).toISOString()} with its volume ${keep.name} kept only until ` +
          `${new Date(until).toISOString()}`);
      }
    }
  }
  const ends = volumeWrites.filter((e) => e.requestObject?.metadata?.labels?.[KEPT_VOLUME_LABEL] === null);
  for (const end of ends) {
    const keep = keeps.filter((k) => k.name === end.name && committedBefore(k, end)).at(-1);
    const claim = keep && claimOf(keep);
    if (options.namespace !== undefined && claim?.split('/')[0] !== options.namespace) continue;
    const where = `volume ${end.name}'s keep ended at ${new Date(end.time).toISOString()}`;
    if (!keep) {
      violations.push(`${where}, but the controller never kept it`);
      continue;
    }
    const marks = keep.requestObject!.metadata!.annotations!;
    const until = Date.parse(marks[KEPT_UNTIL_ANNOTATION] ?? '');
    if (!(end.time >= until - KEEP_END_TOLERANCE_MS)) {
      violations.push(`${where}, ${until - end.time} ms before its keep was over (${marks[KEPT_UNTIL_ANNOTATION]})`);
    }
    const kept = `${claim!.split('/')[0]}/${marks[KEPT_SET_ANNOTATION]}`;
    const ordinal = Number(marks[KEPT_ORDINAL_ANNOTATION]);
    const read = decidingRead(everything, end, kept, replicaOf);
    if (read && !outOfRangeIn(read, ordinal)) {
      violations.push(`${where}, decided on a read of ${kept} that had ordinal ${ordinal} in range`);
    } else if (ranges.inRange(kept, ordinal, end.time)) {
      options.notice?.(`${where}${read ? `, ${end.time - read.time} ms after the read it was decided on` : ''}; ordinal ${ordinal} ` +
        `was back in range by then`);
    }
  }
  return violations;
}
