// The placeholder: the pod that holds an ordinal's name while its drained claims are deleted. It must never
// run, never use a claim, and never be taken for a replica or a drain pod.
import { buildPlaceholder, FALLBACK_PLACEHOLDER_IMAGE, isPlaceholderOf, PLACEHOLDER_SCHEDULER } from '../../src/planner/placeholder.ts';
import { isDrainPodOf } from '../../src/planner/identity.ts';
import { DRAIN_POD_ANNOTATION, ORDINAL_LABEL, ROLE_LABEL, SET_LABEL, TEMPLATE_ANNOTATION } from '../../src/planner/keys.ts';
import { planSet } from '../../src/planner/plan.ts';
import { drainedRecord } from '../../src/planner/release-proof.ts';
import { parseDrainerTemplate } from '../../src/planner/template.ts';
import { ACCEPTED, NOW, aClaim, aSet, settings } from './fixtures.ts';

const set = aSet({ replicas: 2 });

describe('the placeholder', () => {
  const pod = buildPlaceholder(set, 'registry.example/drainer:1', 2);

  it('takes the ordinal\'s name in the set\'s namespace, owned by the set without being adopted by it', () => {
    expect(pod).toMatchObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'db-2', namespace: 'ns' } });
    expect(pod.metadata!.labels).toEqual({ [ROLE_LABEL]: 'placeholder', [SET_LABEL]: 'db', [ORDINAL_LABEL]: '2' });
    expect(pod.metadata!.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: set.metadata!.uid,
      controller: false, blockOwnerDeletion: false }]);
    expect(isPlaceholderOf(pod, set, 2)).toBe(true);
    expect(isDrainPodOf(pod, set)).toBe(false);
  });

  it('never runs: no volumes, a scheduler that does not exist, no service account token, nothing to restart', () => {
    expect(pod.spec!.volumes).toBeUndefined();
    expect(pod.spec!.schedulerName).toBe(PLACEHOLDER_SCHEDULER);
    // An empty name would be defaulted to the default scheduler, which would schedule it.
    expect(PLACEHOLDER_SCHEDULER).not.toMatch(/^(default-scheduler)?$/);
    expect(pod.spec).toMatchObject({ restartPolicy: 'Never', terminationGracePeriodSeconds: 0, automountServiceAccountToken: false,
      enableServiceLinks: false });
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
    expect(isPlaceholderOf(pod, {}, 2)).toBe(false);
    expect(isPlaceholderOf({ metadata: { name: 'db-2' } }, set, 2)).toBe(false);
    // A pod without a spec has no volumes: still the placeholder (the check is only that it uses no claim).
    expect(isPlaceholderOf({ metadata: pod.metadata }, set, 2)).toBe(true);
    expect(isPlaceholderOf({ ...pod, spec: { ...pod.spec!, volumes: [] } }, set, 2)).toBe(true);
    const withClaim = { ...pod, spec: { ...pod.spec!,
      volumes: [{ name: 'token', emptyDir: {} }, { name: 'd', persistentVolumeClaim: { claimName: 'data-db-2' } }] } };
    expect(isPlaceholderOf(withClaim, set, 2)).toBe(false);
  });

  it('for a set without a name or UID, names none', () => {
    const odd = buildPlaceholder({}, 'x', 2);
    expect(odd.metadata!.name).toBe('-2');
    expect(odd.metadata!.ownerReferences![0]!.uid).toBe('');
  });

  it('a set whose template is unusable (annotation removed mid-release) gets a placeholder of the pause image, ' +
      'which it never pulls', () => {
    const unmanaged = aSet({ replicas: 2 });
    delete unmanaged.metadata!.annotations![TEMPLATE_ANNOTATION];
    const claim = aClaim(unmanaged, 2, { annotations: { [DRAIN_POD_ANNOTATION]: 'p', ...drainedRecord('p', 0) } });
    const plan = planSet({ set: unmanaged, claims: [claim], pods: [], template: parseDrainerTemplate(unmanaged),
      templateVerdict: ACCEPTED, now: NOW }, settings);
    const create = plan.actions.find((a) => a.kind === 'CreatePlaceholder');
    expect(create?.kind === 'CreatePlaceholder' && create.pod.spec!.containers[0]!.image).toBe(FALLBACK_PLACEHOLDER_IMAGE);
    expect(FALLBACK_PLACEHOLDER_IMAGE).toMatch(/^registry\.k8s\.io\/pause:/);
  });
});
