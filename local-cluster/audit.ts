// Reads the kube-apiserver audit log: the record of who wrote what, used to check the invariants.
import { readFileSync } from 'node:fs';

export interface AuditEvent {
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
  userAgent: string;
  code: number;
  time: number;
  /** The request body, for the writes the audit policy records at Request level or above. */
  requestObject?: AuditObject;
  /** The object as stored, for pod creates (RequestResponse). */
  responseObject?: AuditObject;
}

/** The fields of audited bodies the checks read: delete options, leases, pods, claims, scale. */
export interface AuditObject {
  preconditions?: { uid?: string };
  metadata?: { name?: string; uid?: string; annotations?: Record<string, string> };
  spec?: { holderIdentity?: string; replicas?: number; ordinals?: { start?: number }; volumes?: Array<{ persistentVolumeClaim?: { claimName?: string } }> };
  status?: { phase?: string };
}

export function readAudit(file: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as {
      stage: string; verb: string; userAgent?: string; stageTimestamp: string; requestURI?: string;
      objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
      responseStatus?: { code?: number }; requestObject?: AuditObject; responseObject?: AuditObject;
    };
    // Dry runs (the controller's template check) change nothing.
    if (e.stage !== 'ResponseComplete' || /[?&]dryRun=/.test(e.requestURI ?? '')) continue;
    const subresource = e.objectRef?.subresource;
    // Only the subresources that change what the checks follow: a pod's phase and a set's replicas.
    if (subresource && subresource !== 'status' && subresource !== 'scale') continue;
    events.push({
      verb: e.verb, resource: `${e.objectRef?.resource ?? ''}${subresource ? `/${subresource}` : ''}`, namespace: e.objectRef?.namespace,
      name: e.objectRef?.name ?? e.responseObject?.metadata?.name ?? e.requestObject?.metadata?.name,
      userAgent: e.userAgent ?? '', code: e.responseStatus?.code ?? 0, time: new Date(e.stageTimestamp).getTime(),
      requestObject: e.requestObject, responseObject: e.responseObject,
    });
  }
  return events;
}

/** The replica identity in the controller's User-Agent, or undefined for anyone else. */
export function controllerReplica(e: AuditEvent): string | undefined {
  return /^statefulset-drain-controller\/\S+ \((.+)\)$/.exec(e.userAgent)?.[1];
}
