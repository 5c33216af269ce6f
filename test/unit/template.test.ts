import { parseDrainerTemplate } from '../../src/planner/template.ts';
import { aSet } from './fixtures.ts';

const container = { name: 'drain', image: 'busybox' };

describe('parseDrainerTemplate', () => {
  it('accepts JSON and YAML', () => {
    expect(parseDrainerTemplate(aSet({ template: { spec: { containers: [container] } } })).ok).toBe(true);
    expect(parseDrainerTemplate(aSet({ template: 'spec:\n  containers:\n  - name: drain\n    image: busybox\n' })).ok).toBe(true);
  });

  it.each([
    ['malformed text', '{"spec": ', /neither valid JSON nor YAML/],
    ['a JSON array', '[1,2]', /must be a JSON object/],
    ['a bare string', '"hello"', /must be a JSON object/],
    ['no spec', { metadata: {} }, /must have required property 'spec'/],
    ['no containers', { spec: { containers: [] } }, /spec.containers must NOT have fewer than 1 items/],
    ['a container without image', { spec: { containers: [{ name: 'x' }] } }, /spec.containers.0 must have required property 'image'/],
    ['restartPolicy Always', { spec: { restartPolicy: 'Always', containers: [container] } }, /restartPolicy Always is not allowed/],
    ['restartPolicy nonsense', { spec: { restartPolicy: 'Sometimes', containers: [container] } },
      /spec.restartPolicy must be equal to one of the allowed values/],
    ['a namespace', { metadata: { namespace: 'kube-system' }, spec: { containers: [container] } }, /metadata.namespace is not allowed/],
    ['ownerReferences', { metadata: { ownerReferences: [] }, spec: { containers: [container] } },
      /metadata.ownerReferences is not allowed/],
    ['a name', { metadata: { name: 'x' }, spec: { containers: [container] } }, /metadata.name is set by the controller/],
    ['non-string label', { metadata: { labels: { a: 1 } }, spec: { containers: [container] } }, /metadata.labels.a must be string/],
    ['selector labels', { metadata: { labels: { app: 'db' } }, spec: { containers: [container] } }, /would adopt the drain pod/],
    ['unknown top-level field', { kind: 'Pod', spec: { containers: [container] } },
      /template must NOT have additional properties \(kind\)/],
  ])('rejects %s with a clear message', (_name, template, message) => {
    const result = parseDrainerTemplate(aSet({ template }));
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.problems.join('\n')).toMatch(message);
  });

  it('reads the documented JSON as JSON: a duplicated key keeps its last value, as kubectl reads it (YAML would refuse it)', () => {
    const text = `{"spec": {"containers": []}, "spec": ${JSON.stringify({ containers: [container] })}}`;
    expect(parseDrainerTemplate(aSet({ template: text }))).toEqual({ ok: true,
      template: { labels: {}, annotations: {}, spec: { containers: [container] } } });
  });

  it('bounds YAML alias expansion: a template with about 50 alias references or more is refused (the YAML default is 100)', () => {
    const aliases = (n: number) => `x: &a "v"\ny: [${Array<string>(n).fill('*a').join(', ')}]\nspec: {containers: [{name: d, image: b}]}\n`;
    expect(parseDrainerTemplate(aSet({ template: aliases(40) }))).toEqual({ ok: false,
      problems: ['template must NOT have additional properties (x)', 'template must NOT have additional properties (y)'] });
    expect(parseDrainerTemplate(aSet({ template: aliases(60) }))).toEqual({ ok: false,
      problems: ['the template is neither valid JSON nor YAML: Excessive alias count indicates a resource exhaustion attack'] });
  });

  it('reports every problem at once', () => {
    const result =
      parseDrainerTemplate(aSet({ template: { metadata: { namespace: 'x' }, spec: { restartPolicy: 'Always', containers: [] } } }));
    expect(result.ok ? [] : result.problems).toHaveLength(3);
  });

  const spec = (extra: object, c: object = {}) => ({ spec: { containers: [{ ...container, ...c }], ...extra } });

  it('accepts every field it reads, typed as the API has it, and keeps labels and annotations', () => {
    const full = {
      metadata: { labels: { team: 'x' }, annotations: { note: 'y' } },
      spec: {
        restartPolicy: 'Never',
        containers: [{ ...container, command: ['sh'], args: ['-c', 'cp'], workingDir: '/w',
          volumeMounts: [{ name: 'data', mountPath: '/data', subPath: 'a', subPathExpr: '$(X)', readOnly: true }] }],
        initContainers: [{ name: 'init', image: 'busybox' }],
        volumes: [{ name: 'archive', persistentVolumeClaim: { claimName: 'archive', readOnly: false } }],
        affinity: { nodeAffinity: {} }, tolerations: [{}], nodeSelector: { zone: 'a' }, priorityClassName: 'high',
        imagePullSecrets: [{ name: 'pull' }],
      },
    };
    const result = parseDrainerTemplate(aSet({ template: full }));
    expect(result).toEqual({ ok: true, template: { labels: { team: 'x' }, annotations: { note: 'y' }, spec: full.spec } });
    expect(parseDrainerTemplate(aSet({ template: spec({}) })))
      .toEqual({ ok: true, template: { labels: {}, annotations: {}, spec: spec({}).spec } });
  });

  it.each([
    ['an empty container name', spec({}, { name: '' }), /spec.containers.0.name must NOT have fewer than 1 characters/],
    ['an empty image', spec({}, { image: '' }), /spec.containers.0.image must NOT have fewer than 1 characters/],
    ['a numeric command', spec({}, { command: [1] }), /spec.containers.0.command.0 must be string/],
    ['a command that is not a list', spec({}, { command: 'sh' }), /spec.containers.0.command must be array/],
    ['numeric args', spec({}, { args: [1] }), /spec.containers.0.args.0 must be string/],
    ['a numeric workingDir', spec({}, { workingDir: 1 }), /spec.containers.0.workingDir must be string/],
    ['mounts that are not a list', spec({}, { volumeMounts: {} }), /spec.containers.0.volumeMounts must be array/],
    ['a mount that is not an object', spec({}, { volumeMounts: ['data'] }), /spec.containers.0.volumeMounts.0 must be object/],
    ['a mount without a path', spec({}, { volumeMounts: [{ name: 'data' }] }), /volumeMounts.0 must have required property 'mountPath'/],
    ['a mount without a name', spec({}, { volumeMounts: [{ mountPath: '/d' }] }), /volumeMounts.0 must have required property 'name'/],
    ['a numeric mount name', spec({}, { volumeMounts: [{ name: 1, mountPath: '/d' }] }), /volumeMounts.0.name must be string/],
    ['a numeric mount path', spec({}, { volumeMounts: [{ name: 'd', mountPath: 1 }] }), /volumeMounts.0.mountPath must be string/],
    ['a numeric subPath', spec({}, { volumeMounts: [{ name: 'd', mountPath: '/d', subPath: 1 }] }),
      /volumeMounts.0.subPath must be string/],
    ['a numeric subPathExpr', spec({}, { volumeMounts: [{ name: 'd', mountPath: '/d', subPathExpr: 1 }] }),
      /volumeMounts.0.subPathExpr must be string/],
    ['a readOnly that is not a boolean', spec({}, { volumeMounts: [{ name: 'd', mountPath: '/d', readOnly: 'yes' }] }),
      /volumeMounts.0.readOnly must be boolean/],
    ['a container that is not an object', { spec: { containers: ['drain'] } }, /spec.containers.0 must be object/],
    ['containers that are not a list', { spec: { containers: {} } }, /spec.containers must be array/],
    ['an init container without image', spec({ initContainers: [{ name: 'i' }] }),
      /spec.initContainers.0 must have required property 'image'/],
    ['init containers that are not a list', spec({ initContainers: {} }), /spec.initContainers must be array/],
    ['a volume without a name', spec({ volumes: [{}] }), /spec.volumes.0 must have required property 'name'/],
    ['volumes that are not a list', spec({ volumes: {} }), /spec.volumes must be array/],
    ['a volume that is not an object', spec({ volumes: ['v'] }), /spec.volumes.0 must be object/],
    ['a numeric volume name', spec({ volumes: [{ name: 1 }] }), /spec.volumes.0.name must be string/],
    ['a claim volume without a claim name', spec({ volumes: [{ name: 'v', persistentVolumeClaim: {} }] }),
      /persistentVolumeClaim must have required property 'claimName'/],
    ['a claim volume that is not an object', spec({ volumes: [{ name: 'v', persistentVolumeClaim: 'c' }] }),
      /spec.volumes.0.persistentVolumeClaim must be object/],
    ['a numeric claim name', spec({ volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 1 } }] }), /claimName must be string/],
    ['a claim volume readOnly that is not a boolean',
      spec({ volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'c', readOnly: 1 } }] }),
      /persistentVolumeClaim.readOnly must be boolean/],
    ['affinity that is not an object', spec({ affinity: 'x' }), /spec.affinity must be object/],
    ['node affinity that is not an object', spec({ affinity: { nodeAffinity: 'x' } }), /spec.affinity.nodeAffinity must be object/],
    ['tolerations that are not objects', spec({ tolerations: [1] }), /spec.tolerations.0 must be object/],
    ['tolerations that are not a list', spec({ tolerations: {} }), /spec.tolerations must be array/],
    ['a numeric node selector value', spec({ nodeSelector: { zone: 1 } }), /spec.nodeSelector.zone must be string/],
    ['a node selector that is not an object', spec({ nodeSelector: 'zone' }), /spec.nodeSelector must be object/],
    ['a numeric priority class', spec({ priorityClassName: 1 }), /spec.priorityClassName must be string/],
    ['pull secrets that are not objects', spec({ imagePullSecrets: ['s'] }), /spec.imagePullSecrets.0 must be object/],
    ['pull secrets that are not a list', spec({ imagePullSecrets: {} }), /spec.imagePullSecrets must be array/],
    ['a spec that is not an object', { spec: 'x' }, /^spec must be object/m],
    ['metadata that is not an object', { metadata: 'x', ...spec({}) }, /^metadata must be object/m],
    ['a numeric annotation', { metadata: { annotations: { a: 1 } }, ...spec({}) }, /metadata.annotations.a must be string/],
    ['labels that are not an object', { metadata: { labels: 'a' }, ...spec({}) }, /metadata.labels must be object/],
    ['an unknown metadata field', { metadata: { uid: 'u' }, ...spec({}) }, /metadata must NOT have additional properties \(uid\)/],
    ['generateName', { metadata: { generateName: 'x-' }, ...spec({}) }, /metadata.generateName is not allowed/],
    ['finalizers', { metadata: { finalizers: ['f'] }, ...spec({}) }, /metadata.finalizers is not allowed: a finalizer would keep/],
    ['YAML that is not valid either', 'spec: [', /^the template is neither valid JSON nor YAML: /],
    ['null', 'null', /must be a JSON object/],
    ['a volume naming one of the set\'s claims', spec({ volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'data-db-0' } }] }),
      /^spec.volumes v names claim data-db-0, a claim of this StatefulSet \(template data\): drain pods may mount only the orphaned/],
  ])('rejects %s, naming the field', (_name, template, message) => {
    const result = parseDrainerTemplate(aSet({ template }));
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.problems.join('\n')).toMatch(message);
  });

  it('says each problem once: a controller-owned field or restartPolicy Always is not also reported by the schema', () => {
    const result = parseDrainerTemplate(aSet({ template: { metadata: { name: 'x', finalizers: [] }, spec: { restartPolicy: 'Always',
      containers: [container] } } }));
    expect(result.ok ? [] : result.problems).toEqual([
      'metadata.name is set by the controller (drain pods are named <set>-<ordinal>)',
      'metadata.finalizers is not allowed: a finalizer would keep drain pods (and their claims) forever',
      'spec.restartPolicy Always is not allowed: such a pod never completes, so its claims could never be released ' +
        '(use OnFailure or Never)',
    ]);
  });

  it('a set without the annotation: the problem names it', () => {
    const missing = { ok: false, problems: ['annotation statefulsets.kubernetes.io/drainer-pod-template is missing'] };
    expect(parseDrainerTemplate(aSet({ template: null }))).toEqual(missing);
    const bare = aSet({ template: null });
    delete bare.metadata!.annotations;
    expect(parseDrainerTemplate(bare)).toEqual(missing);
  });

  it('states each schema problem exactly, with the field it is about, every one of them', () => {
    const result = parseDrainerTemplate(aSet({ template: { spec: { restartPolicy: 'Sometimes', containers: [{ name: 'x' }] } } }));
    expect(result).toEqual({ ok: false, problems: [
      'spec.restartPolicy must be equal to one of the allowed values',
      'spec.containers.0 must have required property \'image\'',
    ] });
  });

  it('refuses unknown fields wherever they are, even named like a controller-owned field or an Object member', () => {
    expect(parseDrainerTemplate(aSet({ template: { name: 'x', ...spec({}) } })))
      .toEqual({ ok: false, problems: ['template must NOT have additional properties (name)'] });
    expect(parseDrainerTemplate(aSet({ template: { metadata: { constructor: 'x' }, ...spec({}) } })))
      .toEqual({ ok: false, problems: ['metadata must NOT have additional properties (constructor)'] });
  });

  it('says which labels to use when the selector would adopt the drain pod', () => {
    expect(parseDrainerTemplate(aSet({ template: { metadata: { labels: { app: 'db' } }, ...spec({}) } }))).toEqual({ ok: false,
      problems: ['the template\'s labels match the StatefulSet\'s selector: the StatefulSet controller would adopt the drain pod; ' +
        'use labels outside the selector'] });
  });

  it('a volume naming a claim of another set, or of a name the set does not spell, is the user\'s to mount', () => {
    for (const claimName of ['archive', 'data-web-0', 'data-db-x', 'logs-db-0']) {
      const template = spec({ volumes: [{ name: 'v', persistentVolumeClaim: { claimName } }] });
      expect(parseDrainerTemplate(aSet({ template })).ok).toBe(true);
    }
    expect(parseDrainerTemplate(aSet({ template: spec({ volumes: [{ name: 'v', emptyDir: {} }] }) })).ok).toBe(true);
  });

  it('labels that the selector would match only together with the drain pod\'s own labels are refused too', () => {
    const set = aSet({ template: { metadata: { labels: { team: 'x' } }, ...spec({}) } });
    set.spec!.selector = { matchExpressions: [{ key: 'drain.statefulsets.kubernetes.io/statefulset', operator: 'In', values: ['db'] },
      { key: 'drain.statefulsets.kubernetes.io/role', operator: 'In', values: ['drainer'] }] };
    expect(parseDrainerTemplate(set).ok).toBe(false);
  });
});
