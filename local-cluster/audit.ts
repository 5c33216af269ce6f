// Reads the kube-apiserver audit log: the record of who wrote what, used to check the invariants.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface AuditEvent {
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
  userAgent: string;
  /** Who the API server authenticated (user.username): unlike the User-Agent, a client cannot choose it. */
  username: string;
  code: number;
  time: number;
  /** The request body, for the writes the audit policy records at Request level or above. */
  requestObject?: AuditObject;
  /** The object as stored or read: pod creates and deletes, claim deletes, StatefulSet gets (RequestResponse). */
  responseObject?: AuditObject;
}

/** The fields of audited bodies the checks read: delete options, leases, pods, claims, volumes, scale. */
export interface AuditObject {
  preconditions?: { uid?: string };
  metadata?: { name?: string; uid?: string; resourceVersion?: string; generation?: number; labels?: Record<string, string>;
    annotations?: Record<string, string>; finalizers?: string[] };
  spec?: { holderIdentity?: string; replicas?: number; ordinals?: { start?: number }; persistentVolumeReclaimPolicy?: string;
    volumes?: Array<{ persistentVolumeClaim?: { claimName?: string } }> };
  status?: { phase?: string };
}

/** Each line of a file, without reading it into one string (an hour's audit log can pass V8's string limit). */
function* lines(file: string): Generator<string> {
  const buffer = readFileSync(file);
  for (let start = 0; start < buffer.length;) {
    const end = buffer.indexOf(10, start);
    const stop = end === -1 ? buffer.length : end;
    if (stop > start) yield buffer.toString('utf8', start, stop);
    start = stop + 1;
  }
}

/**
 * The audit log and the files kube-apiserver rotated out of it (`audit-<time>.log` at every 100 MB, by
 * default), oldest first: a long run's early requests are only in those.
 */
function auditFiles(file: string): string[] {
  const dir = path.dirname(file);
  const { name, ext } = path.parse(file);
  const rotated = existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(`${name}-`) && f.endsWith(ext)).sort() : [];
  return [...rotated.map((f) => path.join(dir, f)), file];
}

/** The completed requests in the audit log; `keep` drops events early, so that a long run fits in memory. */
export function readAudit(file: string, keep: (e: AuditEvent) => boolean = () => true): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const line of auditFiles(file).flatMap((f) => [...lines(f)])) {
    const e = JSON.parse(line) as {
      stage: string; verb: string; userAgent?: string; stageTimestamp: string; requestURI?: string; user?: { username?: string };
      objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
      responseStatus?: { code?: number }; requestObject?: AuditObject; responseObject?: AuditObject;
    };
    // Dry runs (the controller's template check) change nothing.
    if (e.stage !== 'ResponseComplete' || /[?&]dryRun=/.test(e.requestURI ?? '')) continue;
    const subresource = e.objectRef?.subresource;
    // Only the subresources that change what the checks follow: a pod's phase and a set's replicas.
    if (subresource && subresource !== 'status' && subresource !== 'scale') continue;
    const event: AuditEvent = {
      verb: e.verb, resource: `${e.objectRef?.resource ?? ''}${subresource ? `/${subresource}` : ''}`, namespace: e.objectRef?.namespace,
      name: e.objectRef?.name ?? e.responseObject?.metadata?.name ?? e.requestObject?.metadata?.name,
      userAgent: e.userAgent ?? '', username: e.user?.username ?? '', code: e.responseStatus?.code ?? 0,
      time: new Date(e.stageTimestamp).getTime(),
      requestObject: e.requestObject, responseObject: e.responseObject,
    };
    if (keep(event)) events.push(event);
  }
  return events;
}

/**
 * Whether `a` was committed before `b`: by the resourceVersions of their responses where both have one (etcd's
 * revision, one counter for every object), else by the audit timestamps.
 */
export function committedBefore(a: AuditEvent, b: AuditEvent): boolean {
  const [ra, rb] = [Number(a.responseObject?.metadata?.resourceVersion), Number(b.responseObject?.metadata?.resourceVersion)];
  return Number.isInteger(ra) && Number.isInteger(rb) && ra > 0 && rb > 0 ? ra < rb : a.time < b.time;
}

/** The replica identity in the controller's User-Agent, or undefined for anyone else. */
export function controllerReplica(e: AuditEvent): string | undefined {
  return /^statefulset-drain-controller\/\S+ \((.+)\)$/.exec(e.userAgent)?.[1];
}
