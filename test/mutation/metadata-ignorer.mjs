// A StrykerJS ignorer for two equivalent mutants that recur through the planner: `set.metadata?.name` made
// `set.metadata.name`, and the `''` of `set.metadata?.name ?? ''` made another string. A StatefulSet, pod or
// claim always has metadata and a name: the API server sends them, the objects this controller builds carry
// them, and the planner's pods and claims are checked by well-formed.ts first. Only `set` (and `rival`), `pod`
// and `claim` (the names these objects go by) are matched; a claim template's metadata, which may be absent, is not.
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

const OBJECTS = new Set(['set', 'rival', 'pod', 'claim']);

function isMetadataOfAnObject(node) {
  return node?.type === 'MemberExpression' && !node.computed && node.property.type === 'Identifier'
    && node.property.name === 'metadata' && node.object.type === 'Identifier' && OBJECTS.has(node.object.name);
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
