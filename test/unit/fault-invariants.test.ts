// The fault suite's checker must catch what it claims to catch.
import { checkInvariants } from '../faults/invariants.ts';
import type { AuditEvent } from '../harness/audit.ts';
import type { PodSighting } from '../faults/history.ts';

const ua = (replica: string) => `statefulset-drain-controller/0.1.0 (${replica})`;
const del = (resource: string, name: string, uid: string | undefined, time: number, replica = 'a'): AuditEvent => ({
  verb: 'delete', resource, namespace: 'ns', name, userAgent: ua(replica), code: 200, time, requestObject: uid ? { preconditions: { uid } } : {},
});
const drain = (time: number, phase: string, claimUids: string[], kind: PodSighting['kind'] = 'update'): PodSighting => ({
  time, kind, namespace: 'ns', name: 'db-2', uid: 'pod-1', drain: true, phase, claimUids,
});

describe('fault-suite invariant checker', () => {
  it('accepts a claim deletion preceded by a Succeeded drain pod of that claim', () => {
    expect(checkInvariants([del('persistentvolumeclaims', 'data-db-2', 'c1', 1000), del('pods', 'db-2', 'pod-1', 1100)],
      [drain(0, 'Running', ['c1'], 'add'), drain(900, 'Succeeded', ['c1'])], 1000)).toEqual([]);
  });

  it('flags a claim deleted without a Succeeded drain of it, or without a UID precondition', () => {
    expect(checkInvariants([del('persistentvolumeclaims', 'data-db-2', 'c1', 1000)], [drain(900, 'Failed', ['c1'])], 1000)).toHaveLength(1);
    expect(checkInvariants([del('persistentvolumeclaims', 'data-db-2', 'c2', 1000)], [drain(900, 'Succeeded', ['c1'])], 1000)).toHaveLength(1);
    expect(checkInvariants([del('persistentvolumeclaims', 'data-db-2', undefined, 1000)], [], 1000)[0]).toMatch(/without a UID precondition/);
  });

  it('flags deletion of a pod that is not a drain pod', () => {
    expect(checkInvariants([del('pods', 'db-0', 'stateful', 1000)], [drain(0, 'Running', [], 'add')], 1000)[0]).toMatch(/not a known drain pod/);
  });

  it('flags two pods of one name at once, and two replicas writing within the leader gap', () => {
    const twin = { ...drain(10, 'Pending', [], 'add'), uid: 'pod-2' };
    expect(checkInvariants([], [drain(0, 'Running', [], 'add'), twin], 1000)[0]).toMatch(/two pods named ns\/db-2/);
    const writes = [del('pods', 'db-2', 'pod-1', 1000, 'a'), del('pods', 'db-2', 'pod-1', 1500, 'b')];
    expect(checkInvariants(writes, [drain(0, 'Running', [], 'add')], 1000).some((v) => /wrote 500 ms apart/.test(v))).toBe(true);
  });
});
