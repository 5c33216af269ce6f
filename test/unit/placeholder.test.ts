// The placeholder: the pod that holds an ordinal's name while its drained claims are deleted. It must never
// run, never use a claim, and never be taken for a replica or a drain pod.
import { buildPlaceholder, isPlaceholderOf, PLACEHOLDER_SCHEDULER } from '../../src/planner/placeholder.ts';
import { isDrainPodOf } from '../../src/planner/identity.ts';
import { ORDINAL_LABEL, ROLE_LABEL, SET_LABEL } from '../../src/planner/keys.ts';
import { aSet } from './fixtures.ts';

const set = aSet({ replicas: 2 });

describe('the placeholder', () => {
  const pod = buildPlaceholder(set, 'registry.example/drainer:1', 2);

  it('takes the ordinal\'s name in the set\'s namespace, owned by the set without being adopted by it', () => {
    expect(pod.metadata).toMatchObject({ name: 'db-2', namespace: 'ns' });
    expect(pod.metadata!.labels).toEqual({ [ROLE_LABEL]: 'placeholder', [SET_LABEL]: 'db', [ORDINAL_LABEL]: '2' });
    expect(pod.metadata!.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: set.metadata!.uid, controller: false, blockOwnerDeletion: false }]);
    expect(isPlaceholderOf(pod, set, 2)).toBe(true);
    expect(isDrainPodOf(pod, set)).toBe(false);
  });

  it('never runs: no volumes, a scheduler that does not exist, no service account token, nothing to restart', () => {
    expect(pod.spec!.volumes).toBeUndefined();
    expect(pod.spec!.schedulerName).toBe(PLACEHOLDER_SCHEDULER);
    expect(PLACEHOLDER_SCHEDULER).not.toBe('default-scheduler');
    expect(pod.spec).toMatchObject({ restartPolicy: 'Never', terminationGracePeriodSeconds: 0, automountServiceAccountToken: false, enableServiceLinks: false });
    expect(pod.spec!.containers).toEqual([{
      name: 'placeholder', image: 'registry.example/drainer:1',
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
    }]);
    // What the restricted Pod Security level asks of a pod.
    expect(pod.spec!.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  });

  it('is this set\'s for this ordinal only', () => {
    expect(isPlaceholderOf(pod, set, 3)).toBe(false);
    expect(isPlaceholderOf(pod, aSet({ name: 'other' }), 2)).toBe(false);
    expect(isPlaceholderOf({}, set, 2)).toBe(false);
    expect(isPlaceholderOf(buildPlaceholder({}, 'x', 2), set, 2)).toBe(false);
  });
});
