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

  it('reports every problem at once', () => {
    const result =
      parseDrainerTemplate(aSet({ template: { metadata: { namespace: 'x' }, spec: { restartPolicy: 'Always', containers: [] } } }));
    expect(result.ok ? [] : result.problems).toHaveLength(3);
  });
});
