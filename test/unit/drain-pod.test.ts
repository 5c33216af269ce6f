import { buildDrainPod, drainPodClaims } from '../../src/planner/drain-pod.ts';
import { CLAIMS_ANNOTATION, ROLE_LABEL } from '../../src/planner/keys.ts';
import { selectorMatches } from '../../src/planner/label-selector.ts';
import { parseDrainerTemplate, type DrainerTemplate } from '../../src/planner/template.ts';
import { aClaim, aSet } from './fixtures.ts';

describe('buildDrainPod', () => {
  const set = aSet({ templates: ['data', 'logs'] });
  const template = (spec: object): DrainerTemplate => {
    const parsed = parseDrainerTemplate(aSet({ templates: ['data', 'logs'], template: { metadata: { labels: { team: 'x' } }, spec } }));
    if (!parsed.ok) throw new Error(parsed.problems.join());
    return parsed.template;
  };
  const mounts = [{ name: 'data', mountPath: '/data' }, { name: 'logs', mountPath: '/logs' }];

  it('is named like the stateful pod, in the set\'s namespace, owned (not controlled) by the set', () => {
    const pod = buildDrainPod({ set, template: template({ containers: [{ name: 'c', image: 'i' }] }), ordinal: 4, claims: new Map(), attempt: 1, retryToken: '' });
    expect(pod.metadata!.name).toBe('db-4');
    expect(pod.metadata!.namespace).toBe('ns');
    expect(pod.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: 'StatefulSet', uid: 'uid-db', controller: false })]);
    expect(pod.metadata!.labels).toMatchObject({ team: 'x', [ROLE_LABEL]: 'drainer' });
    expect(selectorMatches(set.spec!.selector, pod.metadata!.labels)).toBe(false);
    expect(pod.spec!.restartPolicy).toBe('OnFailure');
  });

  it('mounts the ordinal\'s claims under the claim template names, replacing template volumes of that name', () => {
    const claims = new Map([['data', aClaim(set, 4)], ['logs', aClaim(set, 4, { template: 'logs' })]]);
    const pod = buildDrainPod({
      set, ordinal: 4, claims, attempt: 2, retryToken: '',
      template: template({ containers: [{ name: 'c', image: 'i', volumeMounts: mounts }], volumes: [{ name: 'data', emptyDir: {} }, { name: 'scratch', emptyDir: {} }] }),
    });
    expect(pod.spec!.volumes).toEqual([
      { name: 'scratch', emptyDir: {} },
      { name: 'data', persistentVolumeClaim: { claimName: 'data-db-4' } },
      { name: 'logs', persistentVolumeClaim: { claimName: 'logs-db-4' } },
    ]);
    expect(drainPodClaims(pod)).toEqual([{ name: 'data-db-4', uid: 'uid-data-db-4' }, { name: 'logs-db-4', uid: 'uid-logs-db-4' }]);
  });

  it('leaves out claims that no longer exist, and the mounts of them', () => {
    const pod = buildDrainPod({
      set, ordinal: 4, claims: new Map([['logs', aClaim(set, 4, { template: 'logs' })]]), attempt: 1, retryToken: '',
      template: template({ containers: [{ name: 'c', image: 'i', volumeMounts: mounts }] }),
    });
    expect(pod.spec!.volumes).toEqual([{ name: 'logs', persistentVolumeClaim: { claimName: 'logs-db-4' } }]);
    expect(pod.spec!.containers[0]!.volumeMounts).toEqual([{ name: 'logs', mountPath: '/logs' }]);
  });

  it('reads no claims from a damaged annotation', () => {
    expect(drainPodClaims({ metadata: { annotations: { [CLAIMS_ANNOTATION]: 'not json' } } })).toEqual([]);
    expect(drainPodClaims({ metadata: { annotations: { [CLAIMS_ANNOTATION]: '[{"name":"a"}]' } } })).toEqual([]);
  });
});
