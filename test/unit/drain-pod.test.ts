import { buildDrainPod, claimAt, claimRef, drainPodClaims, mountedClaimNames } from '../../src/planner/drain-pod.ts';
import type { V1StatefulSet } from '@kubernetes/client-node';
import { CLAIMS_ANNOTATION, INHERIT_SCHEDULING_ANNOTATION, ROLE_LABEL, TEMPLATE_ANNOTATION } from '../../src/planner/keys.ts';
import { selectorMatches } from '../../src/planner/label-selector.ts';
import { parseDrainerTemplate, type DrainerTemplate } from '../../src/planner/template.ts';
import { trimStatefulSet } from '../../src/controller/trim.ts';
import { aClaim, aSet, drainTemplate } from './fixtures.ts';

describe('buildDrainPod', () => {
  const set = aSet({ templates: ['data', 'logs'] });
  const template = (spec: object): DrainerTemplate => {
    const parsed = parseDrainerTemplate(aSet({ templates: ['data', 'logs'], template: { metadata: { labels: { team: 'x' } }, spec } }));
    if (!parsed.ok) throw new Error(parsed.problems.join());
    return parsed.template;
  };
  const mounts = [{ name: 'data', mountPath: '/data' }, { name: 'logs', mountPath: '/logs' }];

  it('is named like the stateful pod, in the set\'s namespace, owned (not controlled) by the set', () => {
    const pod = buildDrainPod({ set, template: template({ containers: [{ name: 'c', image: 'i' }] }), ordinal: 4, claims: new Map(),
      attempt: 1, retryToken: '' });
    expect([pod.apiVersion, pod.kind]).toEqual(['v1', 'Pod']);
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
      template: template({ containers: [{ name: 'c', image: 'i', volumeMounts: mounts }],
        volumes: [{ name: 'data', emptyDir: {} }, { name: 'scratch', emptyDir: {} }] }),
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

  it('reads only well-formed entries of the claims list, each with a name and a UID', () => {
    const listing = (claims: unknown) => drainPodClaims({ metadata: { annotations: { [CLAIMS_ANNOTATION]: JSON.stringify(claims) } } });
    expect(drainPodClaims({ metadata: {} })).toEqual([]);
    expect(drainPodClaims({ metadata: { annotations: { [CLAIMS_ANNOTATION]: '' } } })).toEqual([]);
    expect(listing({ name: 'a', uid: 'u' })).toEqual([]);
    expect(listing([null, 7, { name: 'a', uid: '' }, { name: 1, uid: 'u' }, { name: 'b', uid: 2 }, { name: 'c', uid: 'u3' }]))
      .toEqual([{ name: 'c', uid: 'u3' }]);
  });

  it('mounted claims are the pod\'s claim volumes, nothing else', () => {
    expect(mountedClaimNames({})).toEqual(new Set());
    const volumes = [{ name: 'tmp', emptyDir: {} }, { name: 'd', persistentVolumeClaim: { claimName: 'data-db-4' } }];
    expect(mountedClaimNames({ spec: { containers: [], volumes } })).toEqual(new Set(['data-db-4']));
  });

  it('a claim as the plan saw it: name, UID and, when known, its resourceVersion', () => {
    const claim = aClaim(set, 4);
    expect(claimAt(claim)).toEqual({ name: 'data-db-4', uid: 'uid-data-db-4' });
    claim.metadata!.resourceVersion = '42';
    expect(claimAt(claim)).toEqual({ name: 'data-db-4', uid: 'uid-data-db-4', resourceVersion: '42' });
    delete claim.metadata!.uid;
    expect(claimRef(claim)).toEqual({ name: 'data-db-4', uid: '' });
  });
});

describe('drain pods schedule where the set\'s pods could', () => {
  const pinned = () => {
    const set = aSet({ replicas: 1 });
    set.spec!.template.spec = {
      containers: [{ name: 'app', image: 'app' }],
      tolerations: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }],
      nodeSelector: { disk: 'ssd' },
      priorityClassName: 'databases',
      imagePullSecrets: [{ name: 'registry' }],
      affinity: {
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone',
          operator: 'In', values: ['a'] }] }] } },
        podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname',
          labelSelector: { matchLabels: { app: 'db' } } }] },
      },
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' }],
    };
    return set;
  };
  const build = (set: V1StatefulSet) => {
    const parsed = parseDrainerTemplate(set);
    if (!parsed.ok) throw new Error(parsed.problems.join());
    return buildDrainPod({ set, template: parsed.template, ordinal: 1, claims: new Map([['data', aClaim(set, 1)]]),
      attempt: 1, retryToken: '' }).spec!;
  };

  it('takes tolerations, nodeSelector, node affinity, priority class and pull secrets; never pod anti-affinity or spread', () => {
    const spec = build(pinned());
    expect(spec.tolerations).toEqual([{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
    expect(spec.nodeSelector).toEqual({ disk: 'ssd' });
    expect(spec.priorityClassName).toBe('databases');
    expect(spec.imagePullSecrets).toEqual([{ name: 'registry' }]);
    expect(spec.affinity).toEqual({ nodeAffinity: pinned().spec!.template.spec!.affinity!.nodeAffinity });
    expect(spec.topologySpreadConstraints).toBeUndefined();
  });

  const own = {
    tolerations: [{ key: 'drain', operator: 'Exists' }],
    nodeSelector: { drain: 'here' },
    affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: {} }] } },
    priorityClassName: 'drains',
    imagePullSecrets: [{ name: 'drain-registry' }],
  };
  const withOwn = (set: V1StatefulSet, field: keyof typeof own) => {
    set.metadata!.annotations![TEMPLATE_ANNOTATION] = JSON.stringify({ ...drainTemplate,
      spec: { ...drainTemplate.spec, [field]: own[field] } });
    return set;
  };

  it.each(Object.keys(own) as Array<keyof typeof own>)('the template\'s %s wins over the set\'s, and is kept where the set has none',
    (field) => {
      expect(build(withOwn(pinned(), field))[field]).toEqual(own[field]);
      expect(build(withOwn(aSet({ replicas: 1 }), field))[field]).toEqual(own[field]);
    });

  it('the template\'s pod affinity is kept beside the set\'s node affinity', () => {
    const set = pinned();
    const podAffinity = { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, podAffinityTerm: { topologyKey: 'zone' } }] };
    set.metadata!.annotations![TEMPLATE_ANNOTATION] = JSON.stringify({ ...drainTemplate,
      spec: { ...drainTemplate.spec, affinity: { podAffinity } } });
    expect(build(set).affinity).toEqual({ podAffinity, nodeAffinity: pinned().spec!.template.spec!.affinity!.nodeAffinity });
  });

  it('a set whose pods set none of them adds nothing to the drain pod', () => {
    const spec = build(aSet({ replicas: 1 }));
    expect(Object.keys(spec).filter((key) => spec[key as keyof typeof spec] !== undefined).sort())
      .toEqual(['containers', 'restartPolicy', 'volumes']);
  });

  it('reads the set as the controller\'s cache keeps it: no pod template spec at all when its pods set none of these', () => {
    const bare = trimStatefulSet(aSet({ replicas: 1 }));
    expect(bare.spec!.template.spec).toBeUndefined();
    const spec = build(bare);
    expect(Object.keys(spec).filter((key) => spec[key as keyof typeof spec] !== undefined).sort())
      .toEqual(['containers', 'restartPolicy', 'volumes']);
    const pinnedSpec = pinned().spec!.template.spec!;
    const kept = build(trimStatefulSet(pinned()));
    expect([kept.tolerations, kept.nodeSelector, kept.affinity, kept.priorityClassName, kept.imagePullSecrets])
      .toEqual([pinnedSpec.tolerations, pinnedSpec.nodeSelector, { nodeAffinity: pinnedSpec.affinity!.nodeAffinity },
        pinnedSpec.priorityClassName, pinnedSpec.imagePullSecrets]);
  });

  it('what the template sets wins, and the annotation turns inheritance off', () => {
    const own = pinned();
    own.metadata!.annotations![TEMPLATE_ANNOTATION] = JSON.stringify({ ...drainTemplate,
      spec: { ...drainTemplate.spec, nodeSelector: { drain: 'here' } } });
    expect(build(own).nodeSelector).toEqual({ drain: 'here' });
    expect(build(own).tolerations).toHaveLength(1);
    const off = pinned();
    off.metadata!.annotations![INHERIT_SCHEDULING_ANNOTATION] = 'false';
    const spec = build(off);
    expect([spec.tolerations, spec.nodeSelector, spec.affinity, spec.priorityClassName])
      .toEqual([undefined, undefined, undefined, undefined]);
  });
});
