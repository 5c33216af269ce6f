// The cache's indexes: objects kept under `namespace/candidate-set-name`, so that a reconcile reads only the
// objects that could belong to its set.
import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * How an index may keep an object in fewer bytes than the object: a slot it makes the object again from. `pack`
 * gives no slot for an object the slot cannot hold exactly, which is then kept as it is.
 */
export interface SlotCodec<T, S extends object> {
  pack(obj: T, namespace: string, candidate: string): S | undefined;
  unpack(slot: S, namespace: string, candidate: string): T;
  isSlot(entry: T | S): entry is S;
  nameOf(slot: S, candidate: string): string;
}

export interface NameIndexOptions<T, S extends object> {
  /** May point fields of a new object at its first neighbour's equal ones, so that one copy is kept. */
  share?: (obj: T, neighbour: T) => void;
  slots?: SlotCodec<T, S>;
}

/**
 * A bucket is an array, not a Map: most hold a few objects (one set's replicas), and a Map costs about 120 bytes
 * more each, 5 MiB at 10,000 sets (bench/README.md, "Memory").
 */
export class NameIndex<T extends KubernetesObject, S extends object = never> {
  private readonly buckets = new Map<string, Array<T | S>>();
  private readonly keysOf: (name: string) => string[];
  private readonly share: ((obj: T, neighbour: T) => void) | undefined;
  private readonly slots: SlotCodec<T, S> | undefined;

  constructor(keysOf: (name: string) => string[], options: NameIndexOptions<T, S> = {}) {
    this.keysOf = keysOf;
    this.share = options.share;
    this.slots = options.slots;
  }

  apply(kind: 'add' | 'update' | 'delete', obj: T): string[] {
    // A bucket holds one namespace, so the name alone identifies an object in it.
    const name = obj.metadata?.name ?? '';
    const namespace = obj.metadata?.namespace ?? '';
    const candidates = this.keysOf(name);
    for (const candidate of candidates) {
      const key = `${namespace}/${candidate}`;
      const bucket = this.buckets.get(key);
      const at = bucket ? bucket.findIndex((entry) => this.nameOf(entry, candidate) === name) : -1;
      if (kind === 'delete') {
        if (!bucket || at < 0) continue;
        // In place, keeping the order: plans name their claims in it (event keys), and a swap would reorder them.
        bucket.splice(at, 1);
        if (bucket.length === 0) this.buckets.delete(key);
        continue;
      }
      const neighbour = bucket?.find((_, i) => i !== at);
      if (neighbour !== undefined) this.share?.(obj, this.objectOf(neighbour, namespace, candidate));
      const entry = this.slots?.pack(obj, namespace, candidate) ?? obj;
      if (!bucket) this.buckets.set(key, [entry]);
      else if (at >= 0) bucket[at] = entry;
      // push() would grow a small array to 17 slots: a few replicas' bucket is copied to its exact size instead.
      else if (bucket.length < 16) this.buckets.set(key, [...bucket, entry]);
      else bucket.push(entry);
    }
    return candidates.map((candidate) => `${namespace}/${candidate}`);
  }

  get(key: string): T[] {
    const bucket = this.buckets.get(key);
    if (!bucket) return [];
    const slash = key.indexOf('/');
    const [namespace, candidate] = [key.slice(0, slash), key.slice(slash + 1)];
    return bucket.map((entry) => this.objectOf(entry, namespace, candidate));
  }

  private objectOf(entry: T | S, namespace: string, candidate: string): T {
    return this.slots?.isSlot(entry) ? this.slots.unpack(entry, namespace, candidate) : entry as T;
  }

  private nameOf(entry: T | S, candidate: string): string | undefined {
    return this.slots?.isSlot(entry) ? this.slots.nameOf(entry, candidate) : (entry as T).metadata?.name;
  }
}
