// A StrykerJS ignorer for two equivalent mutants that recur through the planner: `set.metadata?.name` made
// `set.metadata.name`, and the `''` of `set.metadata?.name ?? ''` made another string. A StatefulSet, pod or
// claim always has metadata and a name: the API server sends them, the objects this controller builds carry
// them, and the planner's pods and claims are checked by well-formed.ts first. Only the names these objects go
// by are matched, as a variable or as a field (`set`, `rival`, `pod`, `p`, `claim`, `c`, `holder`, `placeholder`:
// `ctx.set`, `d.pod`, `v.holder`); a claim template's or a drainer template's metadata (`t`, `typed`), which may
// be absent, is not. Babel's tree has no inferred types (a lambda's parameter is untyped), hence the names.
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

const OBJECTS = new Set(['set', 'rival', 'pod', 'p', 'claim', 'c', 'holder', 'placeholder']);

/** `set`, or `ctx.set`: a name this code gives a StatefulSet, pod or claim. */
function namesAnObject(node) {
  if (node.type === 'Identifier') return OBJECTS.has(node.name);
  return node.type === 'MemberExpression' && !node.computed && node.property.type === 'Identifier' && OBJECTS.has(node.property.name);
}

function isMetadataOfAnObject(node) {
  return node?.type === 'MemberExpression' && !node.computed && node.property.type === 'Identifier'
    && node.property.name === 'metadata' && namesAnObject(node.object);
}

function isNameOfAnObject(node) {
  return node?.type === 'OptionalMemberExpression' && !node.computed && node.property.type === 'Identifier'
    && node.property.name === 'name' && isMetadataOfAnObject(node.object);
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'object-metadata', {
    shouldIgnore(path) {
      const node = path.node;
      if (node.type === 'OptionalMemberExpression' && node.optional && isMetadataOfAnObject(node.object)) {
        return 'a StatefulSet, pod or claim always has metadata (API server, this controller, well-formed.ts)';
      }
      const parent = path.parent;
      if (node.type === 'StringLiteral' && node.value === '' && parent?.type === 'LogicalExpression' && parent.operator === '??'
          && parent.right === node && isNameOfAnObject(parent.left)) {
        return 'a StatefulSet, pod or claim always has a name (API server, this controller, well-formed.ts)';
      }
      return undefined;
    },
  }),
];
