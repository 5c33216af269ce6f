// The controller's view of the cluster: informers for StatefulSets, claims and pods, with name indexes so
// a reconcile reads only the objects that could belong to its set.
import type { KubernetesObject, V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { candidateSetNameOfPod, candidateSetNamesOfClaim } from '../planner/identity.ts';
import type { Logger } from '../log.ts';
import type { KubeApi } from './api.ts';
import type { KubeHttpClient } from './http-client.ts';
import { ResilientInformer } from './informer.ts';
import { trimClaim, trimPod, trimStatefulSet } from './trim.ts';

export interface CacheOptions {
  /** Namespaces to watch; empty means all namespaces. */
  namespaces: string[];
  /** Label selector restricting which StatefulSets this instance serves (sharding). */
  setSelector?: string;
  /** Keep whole objects in the caches instead of the fields the controller reads (memory comparison, debugging). */
  fullObjects?: boolean;
}

/** Objects indexed by `namespace/candidate-set-name`. */
class NameIndex<T extends KubernetesObject> {
  private readonly buckets = new Map<string, Map<string, T>>();
  private readonly keysOf: (name: string) => string[];

  constructor(keysOf: (name: string) => string[]) {
    this.keysOf = keysOf;
  }

  private keys(obj: T): string[] {
    const ns = obj.metadata?.namespace ?? '';
    return this.keysOf(obj.metadata?.name ?? '').map((name) => `${ns}/${name}`);
  }

  apply(kind: 'add' | 'update' | 'delete', obj: T): string[] {
    // A bucket holds one namespace, so the name alone identifies an object in it.
    const id = obj.metadata?.name ?? '';
    const keys = this.keys(obj);
    for (const key of keys) {
      if (kind === 'delete') {
        const bucket = this.buckets.get(key);
        bucket?.delete(id);
        if (bucket?.size === 0) this.buckets.delete(key);
      } else {
        let bucket = this.buckets.get(key);
        if (!bucket) this.buckets.set(key, (bucket = new Map()));
        bucket.set(id, obj);
      }
    }
    return keys;
  }

  get(key: string): T[] {
    return [...(this.buckets.get(key)?.values() ?? [])];
  }
}

export class ClusterCache {
  private readonly sets = new Map<string, V1StatefulSet>();
  private readonly claims: NameIndex<V1PersistentVolumeClaim>;
  private readonly pods: NameIndex<V1Pod>;
  private readonly informers: Array<ResilientInformer<KubernetesObject>> = [];
  private synced = false;

  /** `onChange` receives the keys (`namespace/name`) of every StatefulSet an event may concern. */
  constructor(client: KubeHttpClient, api: KubeApi, options: CacheOptions, onChange: (setKey: string) => void, log: Logger) {
    this.claims = new NameIndex(candidateSetNamesOfClaim);
    this.pods = new NameIndex((name) => {
      const set = candidateSetNameOfPod(name);
      return set ? [set] : [];
    });
    const notifyKnown = (keys: string[]) => {
      for (const key of keys) if (this.sets.has(key)) onChange(key);
    };
    const scopes = options.namespaces.length > 0 ? options.namespaces : [undefined];
    const trim = <T>(fn: (obj: T) => T) => (options.fullObjects ? undefined : fn);
    const [setTrim, claimTrim, podTrim] = [trim(trimStatefulSet), trim(trimClaim), trim(trimPod)];
    for (const ns of scopes) {
      const base = ns ? `/namespaces/${ns}` : '';
      this.informers.push(new ResilientInformer<V1StatefulSet>(client, `/apis/apps/v1${base}/statefulsets`,
        () => api.listStatefulSets(ns, { labelSelector: options.setSelector, trim: setTrim }), (kind, set) => {
          const key = `${set.metadata?.namespace}/${set.metadata?.name}`;
          if (kind === 'delete') this.sets.delete(key);
          else this.sets.set(key, set);
          onChange(key);
        }, log, { labelSelector: options.setSelector, trim: setTrim }) as unknown as ResilientInformer<KubernetesObject>);
      this.informers.push(new ResilientInformer<V1PersistentVolumeClaim>(client, `/api/v1${base}/persistentvolumeclaims`,
        () => api.listClaims(ns, { trim: claimTrim }), (kind, claim) => notifyKnown(this.claims.apply(kind, claim)), log, { trim: claimTrim }) as unknown as ResilientInformer<KubernetesObject>);
      this.informers.push(new ResilientInformer<V1Pod>(client, `/api/v1${base}/pods`,
        () => api.listPods(ns, { trim: podTrim }), (kind, pod) => notifyKnown(this.pods.apply(kind, pod)), log, { trim: podTrim }) as unknown as ResilientInformer<KubernetesObject>);
    }
  }

  async start(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.start()));
    this.synced = true;
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  hasSynced(): boolean {
    return this.synced;
  }

  setKeys(): string[] {
    return [...this.sets.keys()];
  }

  getSet(key: string): V1StatefulSet | undefined {
    return this.sets.get(key);
  }

  claimsFor(key: string): V1PersistentVolumeClaim[] {
    return this.claims.get(key);
  }

  podsFor(key: string): V1Pod[] {
    return this.pods.get(key);
  }
}
