// The informer's record of what it delivered: whatever the names, it answers as a plain set of
// (namespace, name) would, so a relist tells exactly what disappeared.
import fc from 'fast-check';
import { NameSet } from '../../src/kube/name-set.ts';
import { runs } from './property-runs.ts';

const NAMES = ['db-0', 'db-1', 'db-29', 'db-30', 'db-01', 'db-+1', 'db-1e1', 'db-', 'db', '-3', '3', 'a-b-2', 'a-b', 'data-db-2',
  'a-very-long-stateful-set-name-1', ''];
const NAMESPACES = ['', 'ns', 'other'];
const obj = (namespace: string, name: string) => ({ metadata: { namespace: namespace || undefined, name } });
const key = (namespace: string, name: string) => `${namespace}/${name}`;

describe('NameSet', () => {
  it('answers has() and missingFrom() as a plain set of names does, through any adds and deletes', () => {
    const op = fc.record({ add: fc.boolean(), namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...NAMES) });
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), fc.array(op, { maxLength: 30 }), (ops, otherOps) => {
      const [set, other] = [new NameSet(), new NameSet()];
      const [model, otherModel] = [new Set<string>(), new Set<string>()];
      for (const [target, targetModel, steps] of [[set, model, ops], [other, otherModel, otherOps]] as const) {
        for (const { add, namespace, name } of steps) {
          if (add) target.add(obj(namespace, name));
          else target.delete(obj(namespace, name));
          if (add) targetModel.add(key(namespace, name));
          else targetModel.delete(key(namespace, name));
        }
      }
      for (const namespace of NAMESPACES) {
        for (const name of NAMES) expect(set.has(obj(namespace, name))).toBe(model.has(key(namespace, name)));
      }
      const missing = set.missingFrom(other).map((o) => key(o.metadata?.namespace ?? '', o.metadata?.name ?? ''));
      expect(missing.sort()).toEqual([...model].filter((k) => !otherModel.has(k)).sort());
    }), { numRuns: runs(300) });
  });

  it('forgets each kind of name it is told to, and only that one', () => {
    for (const namespace of NAMESPACES) {
      for (const name of NAMES) {
        const set = new NameSet();
        for (const other of NAMES) set.add(obj(namespace, other));
        set.delete(obj(namespace, name));
        expect(NAMES.filter((n) => !set.has(obj(namespace, n)))).toEqual([name]);
        expect(new NameSet().missingFrom(set)).toEqual([]);
        const everything = new NameSet();
        for (const other of NAMES) everything.add(obj(namespace, other));
        expect(everything.missingFrom(set)).toEqual([obj(namespace, name)]);
        set.delete(obj(namespace, name));
        for (const other of NAMES) set.delete(obj(namespace, other));
        expect(set.missingFrom(new NameSet())).toEqual([]);
      }
    }
  });

  it('tells a name from its neighbours: another ordinal, another stem, another namespace', () => {
    const set = new NameSet();
    set.add(obj('ns', 'db-1'));
    expect([set.has(obj('ns', 'db-1')), set.has(obj('ns', 'db-0')), set.has(obj('ns', 'db-2')), set.has(obj('ns', 'dc-1')),
      set.has(obj('other', 'db-1')), set.has(obj('ns', 'db-01'))]).toEqual([true, false, false, false, false, false]);
    set.add(obj('ns', 'db-29'));
    set.delete(obj('ns', 'db-1'));
    expect(set.missingFrom(new NameSet())).toEqual([obj('ns', 'db-29')]);
  });
});
