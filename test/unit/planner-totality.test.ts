// The planner is total: whatever JSON a user writes into the template annotation, and whatever odd shapes pods
// and claims take, planSet returns a plan instead of throwing. A throw would fail every reconcile of the set
// with no event: its drains never released, a deleted set's finalizer never removed, `status` aborted.
import fc from 'fast-check';
import { runs } from './property-runs.ts';
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import * as keys from '../../src/planner/keys.ts';
import { FINALIZER, TEMPLATE_ANNOTATION } from '../../src/planner/keys.ts';
import { planSet } from '../../src/planner/plan.ts';
import { parseDrainerTemplate } from '../../src/planner/template.ts';
import { wellFormedClaim, wellFormedPod } from '../../src/planner/well-formed.ts';
import { ACCEPTED, NOW, copyOf, aClaim, aDrainPod, aSet, aStatefulPod, drainTemplate, settings } from './fixtures.ts';

const json = fc.jsonValue({ maxDepth: 4 });

/** A valid template with one field somewhere replaced by arbitrary JSON: close enough to valid to reach the planner. */
const nearlyValidTemplate = fc.tuple(
  fc.constantFrom(
    ['spec', 'volumes'], ['spec', 'initContainers'], ['spec', 'containers'], ['spec', 'affinity'], ['spec', 'tolerations'],
    ['spec', 'nodeSelector'], ['spec', 'imagePullSecrets'], ['spec', 'priorityClassName'], ['spec', 'restartPolicy'],
    ['metadata', 'labels'], ['metadata', 'annotations'], ['spec', 'containers', '0', 'volumeMounts'],
    ['spec', 'containers', '0', 'command'],
    ['spec', 'containers', '0', 'image'], ['spec', 'volumes', '0', 'persistentVolumeClaim', 'claimName'], ['spec', 'volumes', '0', 'name'],
    ['spec', 'initContainers', '0', 'volumeMounts'], ['spec', 'initContainers', '0', 'volumeMounts', '0', 'name'],
    ['spec', 'containers', '0', 'volumeMounts', '0', 'name'], ['spec', 'containers', '0', 'volumeMounts', '0'],
  ),
  json,
  fc.constantFrom('volume', 'init', 'none'),
).map(([where, value, extra]) => {
  const template = copyOf(drainTemplate) as Record<string, unknown>;
  const spec = template.spec as Record<string, unknown>;
  if (extra === 'volume') spec.volumes = [{ name: 'archive', persistentVolumeClaim: { claimName: 'archive' } }];
  if (extra === 'init') spec.initContainers = [{ name: 'init', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] }];
  let at: Record<string, unknown> = template;
  for (const key of where.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
  at[where.at(-1)!] = value;
  return JSON.stringify(template);
});

const base = aSet({ replicas: 1 });
const claim = aClaim(base, 1);
const drainPod = aDrainPod(base, 1, [claim], { phase: 'Succeeded' });

/** Values of the type the API gives a field, but odd: our own keys with any text, foreign owners, any string. */
const text = fc.oneof(fc.string(), json.map((v) => JSON.stringify(v)), fc.constantFrom('', '1', '-1', 'db-1', 'uid-data-db-1'));
const stringMap = fc.dictionary(fc.oneof(fc.string(), fc.constantFrom(...Object.values(keys).filter((k) => k.includes('/')))), text);
const time = fc.oneof(text, fc.date({ noInvalidDate: true }));
const mounts = fc.array(fc.record({ name: fc.oneof(text, fc.constantFrom('data', 'logs')), mountPath: text }, { requiredKeys: ['name'] }));
const containers = fc.array(fc.record({ name: text, volumeMounts: mounts }, { requiredKeys: [] }));
const typed: Record<string, fc.Arbitrary<unknown>> = {
  labels: stringMap, annotations: stringMap, name: text, deletionTimestamp: time, creationTimestamp: time, startTime: time,
  phase: fc.oneof(text, fc.constantFrom('Pending', 'Running', 'Succeeded', 'Failed', 'Unknown')),
  ownerReferences: fc.array(fc.record({ kind: fc.oneof(text, fc.constantFrom('StatefulSet')),
    uid: fc.oneof(text, fc.constant(base.metadata!.uid!)), name: text }, { requiredKeys: ['kind', 'uid'] })),
  volumes: fc.array(fc.record({ name: text, persistentVolumeClaim: fc.record({ claimName: fc.oneof(text, fc.constant('data-db-1')) }) },
    { requiredKeys: ['name'] })),
  containers, initContainers: containers, ephemeralContainers: containers,
  status: fc.record({ phase: text, startTime: time }, { requiredKeys: [] }),
};

/**
 * One of a pod's or claim's fields replaced, half the time by arbitrary JSON (as a broken client or a future API
 * could send: left out of the plan), half the time by an odd value of the field's own type (reaches the planner).
 */
function scramble<T extends object>(object: T, paths: string[][]): fc.Arbitrary<T> {
  return fc.constantFrom(...paths).chain((where) => fc.oneof(json, typed[where.at(-1)!]!).map((value) => {
    const copy = copyOf(object) as Record<string, unknown>;
    let at = copy;
    for (const key of where.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
    at[where.at(-1)!] = value;
    return copy as T;
  }));
}

function plans(annotation: string | undefined, claims: V1PersistentVolumeClaim[], pods: V1Pod[], replicas = 1) {
  const set = aSet({ replicas, finalizers: [FINALIZER] });
  if (annotation !== undefined) set.metadata!.annotations![TEMPLATE_ANNOTATION] = annotation;
  return planSet({ set, claims, pods, template: parseDrainerTemplate(set), templateVerdict: ACCEPTED, now: NOW }, settings);
}

describe('planSet is total', () => {
  it('any JSON as the template: a plan, and a template the schema refuses changes nothing', () => {
    fc.assert(fc.property(fc.oneof(json.map((v) => JSON.stringify(v)), nearlyValidTemplate, fc.string()), (annotation) => {
      const plan = plans(annotation, [aClaim(base, 0), claim], [aStatefulPod(base, 0)]);
      if (plan.invalidTemplate) {
        expect(plan.actions.filter((a) => a.kind !== 'Report')).toEqual([]);
        expect(plan.actions.some((a) => a.kind === 'Report' && a.reason === 'InvalidDrainerTemplate')).toBe(true);
      }
    }), { numRuns: runs(3_000) });
  });

  it('claims and drain pods with any field replaced by arbitrary JSON or an odd value of its type: a plan', () => {
    const claimPaths = [['metadata', 'labels'], ['metadata', 'annotations'], ['metadata', 'ownerReferences'], ['metadata', 'name'],
      ['metadata', 'deletionTimestamp']];
    const podPaths = [
      ['metadata', 'labels'], ['metadata', 'annotations'], ['metadata', 'ownerReferences'], ['metadata', 'name'],
      ['metadata', 'creationTimestamp'],
      ['spec', 'volumes'], ['spec', 'containers'], ['spec', 'initContainers'], ['spec', 'ephemeralContainers'],
      ['status'], ['status', 'phase'],
      ['status', 'startTime'],
    ];
    let reached = 0;
    let total = 0;
    fc.assert(fc.property(scramble(claim, claimPaths), scramble(drainPod, podPaths), fc.integer({ min: 0, max: 3 }), (c, p, replicas) => {
      plans(undefined, [c], [p], replicas);
      total += 1;
      if (wellFormedClaim(c) && wellFormedPod(p)) reached += 1;
    }), { numRuns: runs(3_000) });
    // Most odd fields are still well-formed (a label map, an annotation, a phase as JSON): those reach the planner's
    // own code, the property's point. A copy that no longer passes as well-formed would leave every case out.
    expect(reached / total).toBeGreaterThan(0.15);
  });
});
