// Where the controller's V8 heap goes, from a heap snapshot (node --heapsnapshot-signal): the live heap
// after a full GC, and the share of it each cache holds. A share is everything reachable from that cache's
// field and not already counted for an earlier one, without following hidden classes, prototypes, code
// and weak references (shared by every object, they belong to no cache).
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** The fields whose contents are attributed, as `Constructor.field`, in order. */
const ROOTS = [
  'ClusterCache.sets', 'ClusterCache.claims', 'ClusterCache.statefulPods', 'ClusterCache.drainPods', 'ResilientInformer.known',
  'DrainController.startupTemplates', 'DrainController.queue', 'Executor.reported',
];

/**
 * How an instance of each class is known in the bundled build, where V8 names objects by the minified class
 * identifiers: by fields only that class has (property names are not minified).
 */
const SIGNATURES: Record<string, string[]> = {
  ClusterCache: ['sets', 'claims', 'statefulPods', 'drainPods', 'relabelledPods'],
  ResilientInformer: ['known', 'syncing', 'streaming', 'resourceVersion'],
  DrainController: ['startupTemplates', 'queue', 'ignored'],
  Executor: ['reported', 'control', 'metrics'],
};

export interface HeapProfile {
  liveMB: number;
  /** MiB reachable from each root (summed over instances, e.g. the four informers), then the rest. */
  shares: Record<string, number>;
  /** The rest by V8's node type (code, strings, objects, arrays, closures, hidden internals...), MiB. */
  restByType: Record<string, number>;
}

export function heapProfile(file: string): HeapProfile {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const { node_fields: nf, edge_fields: ef, node_types: [nodeTypes], edge_types: [edgeTypes] } = snap.snapshot.meta;
  const N = nf.length;
  const E = ef.length;
  const [nType, nName, nSize, nEdges] = ['type', 'name', 'self_size', 'edge_count'].map((f) => nf.indexOf(f)) as
    [number, number, number, number];
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => ef.indexOf(f)) as [number, number, number];
  const nodeCount = snap.nodes.length / N;
  const firstEdge = new Uint32Array(nodeCount + 1);
  for (let i = 0; i < nodeCount; i++) firstEdge[i + 1] = firstEdge[i]! + snap.nodes[i * N + nEdges]!;
  const typeOf = (node: number) => nodeTypes[snap.nodes[node * N + nType]!]!;
  const nameOf = (node: number) => snap.strings[snap.nodes[node * N + nName]!]!;
  const size = (node: number) => snap.nodes[node * N + nSize]!;
  const edgeName = (e: number) => {
    const t = edgeTypes[snap.edges[e * E + eType]!];
    return t === 'element' || t === 'hidden' ? String(snap.edges[e * E + eName]) : snap.strings[snap.edges[e * E + eName]!]!;
  };
  const SHARED_TYPES = new Set(['hidden', 'code', 'closure', 'synthetic', 'object shape', 'native']);
  const followable = (e: number) => {
    const t = edgeTypes[snap.edges[e * E + eType]!];
    if (t === 'weak' || t === 'shortcut') return false;
    const name = edgeName(e);
    return name !== 'map' && name !== '__proto__' && name !== 'constructor' && !SHARED_TYPES.has(typeOf(snap.edges[e * E + eTo]! / N));
  };

  const counted = new Uint8Array(nodeCount);
  const shares: Record<string, number> = {};
  let live = 0;
  for (let i = 0; i < nodeCount; i++) live += size(i);
  for (const root of ROOTS) {
    const [ctor, field] = root.split('.') as [string, string];
    let bytes = 0;
    const stack: number[] = [];
    const fieldsOf = (node: number) => new Set(Array.from({ length: firstEdge[node + 1]! - firstEdge[node]! },
      (_, k) => edgeName(firstEdge[node]! + k)));
    const isInstance = (node: number) => nameOf(node) === ctor ||
      (SIGNATURES[ctor] !== undefined && SIGNATURES[ctor].every((f) => fieldsOf(node).has(f)));
    for (let i = 0; i < nodeCount; i++) {
      if (typeOf(i) !== 'object' || !isInstance(i)) continue;
      for (let e = firstEdge[i]!; e < firstEdge[i + 1]!; e++) {
        if (edgeName(e) !== field) continue;
        stack.push(snap.edges[e * E + eTo]! / N);
      }
    }
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (counted[node]) continue;
      counted[node] = 1;
      bytes += size(node);
      for (let e = firstEdge[node]!; e < firstEdge[node + 1]!; e++) if (followable(e)) stack.push(snap.edges[e * E + eTo]! / N);
    }
    shares[root] = bytes / 2 ** 20;
  }
  shares.rest = (live - Object.values(shares).reduce((a, b) => a + b * 2 ** 20, 0)) / 2 ** 20;
  const restByType: Record<string, number> = {};
  for (let i = 0; i < nodeCount; i++) if (!counted[i]) restByType[typeOf(i)] = (restByType[typeOf(i)] ?? 0) + size(i) / 2 ** 20;
  return { liveMB: live / 2 ** 20, shares, restByType };
}
