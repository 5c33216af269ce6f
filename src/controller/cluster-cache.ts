// The controller's view of the cluster: informers for StatefulSets, claims and pods, with name indexes so
// a reconcile reads only the objects that could belong to its set.
import type { KubernetesObject, V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { candidateSetNamesOfClaim, claimTemplateNames, ordinalStem } from '../planner/identity.ts';
import type { Logger } from '../log.ts';
import { ROLE_LABEL, SET_LABEL, STATEFUL_POD_LABEL } from '../planner/keys.ts';
import { hasLabels } from '../planner/label-selector.ts';
import { describeApiError, statusOf, type KubeApi, type ListOptions } from '../kube/api.ts';
import type { KubeHttpClient } from '../kube/http-client.ts';
import { ResilientInformer, type ChangeHandler, type ListResult } from '../kube/informer.ts';
import { deepFreeze, trimClaim, trimPod, trimStatefulSet } from './trim.ts';
import { NameIndex } from './name-index.ts';
import { claimSlots, statefulPodSlots, type ClaimSlot, type StatefulPodSlot } from './cache-slots.ts';

export interface CacheOptions {
  /** Namespaces to watch; empty means all namespaces. */
  namespaces: string[];
  /** Label selector restricting which StatefulSets this instance serves (sharding). */
  setSelector?: string;
  /** Keep whole objects in the caches instead of the fields the controller reads (memory comparison, debugging). */
  fullObjects?: boolean;
  /** A watch that sends nothing (no event, no bookmark) for this long is restarted. */
  watchIdleTimeoutMs?: number;
}

/** A claim's labels, when equal to those of a claim of the same set, are that claim's object (one per set, not one per claim). */
export function shareLabels(claim: V1PersistentVolumeClaim, neighbour: V1PersistentVolumeClaim): void {
  const mine = claim.metadata?.labels;
  const theirs = neighbour.metadata?.labels;
  if (!mine || !theirs || mine === theirs) return;
  if (hasLabels(mine, theirs) && hasLabels(theirs, mine)) claim.metadata!.labels = deepFreeze(theirs);
}

// Pods by their set's name, claims by `<template>-<set>`: one bucket each, whatever dashes the names have.
function byStem(name: string): string[] {
  const stem = ordinalStem(name);
  return stem ? [stem] : [];
}
export const claimIndex = () => new NameIndex(byStem, { share: shareLabels, slots: claimSlots });
export const statefulPodIndex = () => new NameIndex(byStem, { slots: statefulPodSlots });

/**
 * Which pods the cache watches. Stateful pods (the StatefulSet controller labels each with its name) are
 * watched as metadata only: their names are all the planner reads. Drain pods are watched whole (phase,
 * volumes). Other pods (Deployments', Jobs') are never sent to the controller. A pod with both labels is
 * a drain pod.
 */
export const STATEFUL_POD_SELECTOR = `${STATEFUL_POD_LABEL},!${ROLE_LABEL}`;
export const DRAIN_POD_SELECTOR = ROLE_LABEL;
/**
 * Pods that kept our set label but lost the role label: a drain pod relabelled by someone who may patch pods.
 * Watched (whole, trimmed to UID and phase) so that it is reported and replaced once finished, instead of
 * holding its ordinal unseen. A pod stripped of every label of ours is not watched (docs/known-limits.md).
 */
export const RELABELLED_POD_SELECTOR = `${SET_LABEL},!${ROLE_LABEL}`;

/** The API server refused a list or watch the cache needs (401 or 403) before its first full state. */
export class ListRefusedError extends Error {
  readonly resource: string;
  readonly namespace: string | undefined;

  constructor(resource: string, namespace: string | undefined, code: number, detail: string) {
    super(`the API server refuses to list or watch ${resource} ${namespace ? `in namespace ${namespace}` : 'in all namespaces'} ` +
      `(${code}): ${detail}`);
    this.resource = resource;
    this.namespace = namespace;
  }
}

export class ClusterCache {
  private readonly sets = new Map<string, V1StatefulSet>();
  private readonly claims: NameIndex<V1PersistentVolumeClaim, ClaimSlot>;
  private readonly statefulPods: NameIndex<V1Pod, StatefulPodSlot>;
  private readonly drainPods: NameIndex<V1Pod>;
  private readonly relabelledPods: NameIndex<V1Pod>;
  private readonly informers: Array<ResilientInformer<KubernetesObject>> = [];
  private synced = false;
  /** What each informer (same index) lists and watches, to say which one was refused. */
  private readonly watched: Array<{ resource: string; namespace?: string }> = [];

  /**
   * `onChange` receives the keys (`namespace/name`) of every StatefulSet an event may concern, once synced;
   * `urgent` when the event may let a drain start (a stateful pod is gone), so that starts go ahead of the
   * rest (finished drains to release, a resync of every set).
   */
  constructor(client: KubeHttpClient, api: KubeApi, options: CacheOptions,
      onChange: (setKey: string, urgent: boolean) => void, log: Logger) {
    this.claims = claimIndex();
    this.statefulPods = statefulPodIndex();
    this.drainPods = new NameIndex(byStem);
    this.relabelledPods = new NameIndex(byStem);
    // Nothing is told before the first full state is in: the controller then looks at every set once
    // (its workers start only on a synced cache), and the 145,000 events of a 10,000-set sync would
    // otherwise each go through the work queue for nothing.
    const notify = (key: string, urgent = false) => {
      if (this.synced) onChange(key, urgent);
    };
    const notifyKnown = (keys: string[], urgent = false) => {
      for (const key of keys) if (this.sets.has(key)) notify(key, urgent);
    };
    const trim = <T>(fn: (obj: T) => T) => (options.fullObjects ? undefined : fn);
    const inform = <T extends KubernetesObject>(path: string, list: (opts: ListOptions<T>) => Promise<ListResult<T>>,
      opts: ListOptions<T>, onEvent: ChangeHandler<T>) => {
      this.informers.push(new ResilientInformer<T>(client, path, () => list(opts), onEvent, log,
        { ...opts, idleTimeoutMs: options.watchIdleTimeoutMs }) as unknown as ResilientInformer<KubernetesObject>);
      this.watched.push({ resource: path.split('/').at(-1)!, namespace: /\/namespaces\/([^/]+)\//.exec(path)?.[1] });
    };
    for (const ns of options.namespaces.length > 0 ? options.namespaces : [undefined]) {
      const base = ns ? `/namespaces/${ns}` : '';
      inform<V1StatefulSet>(`/apis/apps/v1${base}/statefulsets`, (o) => api.listStatefulSets(ns, o),
        { labelSelector: options.setSelector, trim: trim(trimStatefulSet) }, (kind, set) => {
          const key = `${set.metadata?.namespace}/${set.metadata?.name}`;
          if (kind === 'delete') this.sets.delete(key);
          else this.sets.set(key, set);
          notify(key);
        });
      inform<V1PersistentVolumeClaim>(`/api/v1${base}/persistentvolumeclaims`, (o) => api.listClaims(ns, o),
        { metadataOnly: true, trim: trim(trimClaim) }, (kind, claim) => {
          this.claims.apply(kind, claim);
          notifyKnown(candidateSetNamesOfClaim(claim.metadata?.name ?? '').map((set) => `${claim.metadata?.namespace}/${set}`));
        });
      inform<V1Pod>(`/api/v1${base}/pods`, (o) => api.listPods(ns, o),
        { labelSelector: STATEFUL_POD_SELECTOR, metadataOnly: true, trim: trim(trimPod) },
        (kind, pod) => notifyKnown(this.statefulPods.apply(kind, pod), kind === 'delete'));
      inform<V1Pod>(`/api/v1${base}/pods`, (o) => api.listPods(ns, o),
        { labelSelector: DRAIN_POD_SELECTOR, trim: trim(trimPod) }, (kind, pod) => notifyKnown(this.drainPods.apply(kind, pod)));
      inform<V1Pod>(`/api/v1${base}/pods`, (o) => api.listPods(ns, o),
        { labelSelector: RELABELLED_POD_SELECTOR, trim: trim(trimPod) }, (kind, pod) => notifyKnown(this.relabelledPods.apply(kind, pod)));
    }
  }

  /** Resolves once every informer has its first full state; rejects with what is missing if a list or watch is refused. */
  async start(): Promise<void> {
    // Every informer settles (a refusal settles at once): the first refused, in order, is the one reported.
    const results = await Promise.allSettled(this.informers.map((informer) => informer.start()));
    const refused = results.findIndex((r) => r.status === 'rejected');
    if (refused >= 0) {
      const { resource, namespace } = this.watched[refused]!;
      const err = (results[refused] as PromiseRejectedResult).reason;
      throw new ListRefusedError(resource, namespace, statusOf(err), describeApiError(err));
    }
    this.synced = true;
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Seconds since the informer that heard from the API server least recently last heard anything. */
  silentSeconds(now = performance.now()): number {
    let oldest = now;
    for (const informer of this.informers) oldest = Math.min(oldest, informer.lastHeardAt);
    return (now - oldest) / 1000;
  }

  setKeys(): string[] {
    return [...this.sets.keys()];
  }

  getSet(key: string): V1StatefulSet | undefined {
    return this.sets.get(key);
  }

  /** The claims the set's claim templates spell (`<template>-<set>-<ordinal>`), in the templates' order. */
  claimsFor(key: string): V1PersistentVolumeClaim[] {
    const set = this.sets.get(key);
    if (!set) return [];
    const namespace = key.slice(0, key.indexOf('/'));
    return [...new Set(claimTemplateNames(set))].flatMap((template) => this.claims.get(`${namespace}/${template}-${set.metadata?.name}`));
  }

  podsFor(key: string): V1Pod[] {
    return [...this.statefulPods.get(key), ...this.relabelledPods.get(key), ...this.drainPods.get(key)];
  }
}
