// The names an informer has delivered, by namespace: all a relist needs to tell what disappeared (the objects
// themselves live only in the consumer's cache). Most names in a cluster of StatefulSets are `<stem>-<ordinal>`
// (the replicas, their claims), and the consumer's cache may keep no name string of its own for them
// (src/controller/cache-slots.ts): a stem's small ordinals are kept as bits of one integer, so the stem is stored
// once and no name string at all, instead of one string each (4.5 MiB at 10,000 sets, docs/performance.md).
import type { KubernetesObject } from '@kubernetes/client-node';

// Bits 0-29: V8 keeps integers below 2^30 in the Map's entry itself.
const ORDINAL_BITS = 30;

function ordinalBit(name: string): { stem: string; bit: number } | undefined {
  const dash = name.lastIndexOf('-');
  const tail = name.slice(dash + 1);
  const ordinal = Number(tail);
  if (dash < 0 || !Number.isInteger(ordinal) || ordinal < 0 || ordinal >= ORDINAL_BITS || String(ordinal) !== tail) return undefined;
  return { stem: name.slice(0, dash), bit: 1 << ordinal };
}

/**
 * A copy of the text that holds no other string: `slice` may give a view that keeps the whole name alive. A
 * property key is internalized, which copies a view into a string of its own.
 */
function ownString(text: string): string {
  return Object.keys({ [text]: 0 })[0]!;
}

class NamespaceNames {
  private readonly stems = new Map<string, number>();
  private readonly others = new Set<string>();

  get size(): number {
    return this.stems.size + this.others.size;
  }

  has(name: string): boolean {
    const split = ordinalBit(name);
    return split ? ((this.stems.get(split.stem) ?? 0) & split.bit) !== 0 : this.others.has(name);
  }

  add(name: string): void {
    const split = ordinalBit(name);
    if (!split) {
      this.others.add(name);
      return;
    }
    const mask = this.stems.get(split.stem);
    this.stems.set(mask === undefined ? ownString(split.stem) : split.stem, (mask ?? 0) | split.bit);
  }

  delete(name: string): void {
    const split = ordinalBit(name);
    if (!split) {
      this.others.delete(name);
      return;
    }
    const mask = (this.stems.get(split.stem) ?? 0) & ~split.bit;
    if (mask === 0) this.stems.delete(split.stem);
    else this.stems.set(split.stem, mask);
  }

  *names(): Generator<string> {
    for (const [stem, mask] of this.stems) {
      for (let ordinal = 0; ordinal < ORDINAL_BITS; ordinal++) if (mask & (1 << ordinal)) yield `${stem}-${ordinal}`;
    }
    yield* this.others;
  }
}

export class NameSet {
  private readonly byNamespace = new Map<string, NamespaceNames>();

  has(obj: KubernetesObject): boolean {
    return this.byNamespace.get(obj.metadata?.namespace ?? '')?.has(obj.metadata?.name ?? '') ?? false;
  }

  add(obj: KubernetesObject): void {
    const namespace = obj.metadata?.namespace ?? '';
    let names = this.byNamespace.get(namespace);
    if (!names) this.byNamespace.set(namespace, (names = new NamespaceNames()));
    names.add(obj.metadata?.name ?? '');
  }

  delete(obj: KubernetesObject): void {
    const namespace = obj.metadata?.namespace ?? '';
    const names = this.byNamespace.get(namespace);
    names?.delete(obj.metadata?.name ?? '');
    if (names?.size === 0) this.byNamespace.delete(namespace);
  }

  /** Stubs (namespace and name) of the objects not in `other`. */
  missingFrom(other: NameSet): KubernetesObject[] {
    const missing: KubernetesObject[] = [];
    for (const [namespace, names] of this.byNamespace) {
      const theirs = other.byNamespace.get(namespace);
      for (const name of names.names()) if (!theirs?.has(name)) missing.push({ metadata: { namespace: namespace || undefined, name } });
    }
    return missing;
  }
}
