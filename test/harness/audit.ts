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
  requestObject?: { preconditions?: { uid?: string }; spec?: { holderIdentity?: string } };
}

export function readAudit(file: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as {
      stage: string; verb: string; userAgent?: string; stageTimestamp: string;
      objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
      responseStatus?: { code?: number }; requestObject?: AuditEvent['requestObject'];
    };
    if (e.stage !== 'ResponseComplete' || e.objectRef?.subresource) continue;
    events.push({
      verb: e.verb, resource: e.objectRef?.resource ?? '', namespace: e.objectRef?.namespace, name: e.objectRef?.name,
      userAgent: e.userAgent ?? '', code: e.responseStatus?.code ?? 0, time: new Date(e.stageTimestamp).getTime(),
      requestObject: e.requestObject,
    });
  }
  return events;
}

/** The replica identity in the controller's User-Agent, or undefined for anyone else. */
export function controllerReplica(e: AuditEvent): string | undefined {
  return /^statefulset-drain-controller\/\S+ \((.+)\)$/.exec(e.userAgent)?.[1];
}
