// Every write and one-off read the controller makes, behind one rate limiter and one request counter.
import {
  ApiException, AppsV1Api, CoordinationV1Api, CoreV1Api, EventsV1Api, KubeConfig, PatchStrategy, setHeaderOptions,
  type EventsV1Event, type V1Lease, type V1ListMeta, type V1PersistentVolumeClaim, type V1Pod, type V1StatefulSet,
} from '@kubernetes/client-node';
import { RateLimiter } from './rate-limiter.ts';

const PAGE = 500;

export interface ListOptions<T> {
  labelSelector?: string;
  /** Applied to each item as its page arrives. */
  trim?: (item: T) => T;
}

export type RequestObserver = (verb: string, resource: string, code: number) => void;

export function statusOf(err: unknown): number {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown })?.statusCode ?? (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : 0;
}

export function describeApiError(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as unknown;
    try {
      const parsed = typeof body === 'string' ? JSON.parse(body) as { message?: string } : body as { message?: string };
      if (parsed?.message) return parsed.message;
    } catch {
      // fall through to the generic message
    }
    return `HTTP ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class KubeApi {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  private readonly events: EventsV1Api;
  private readonly coordination: CoordinationV1Api;
  private readonly limiter: RateLimiter;
  private readonly observe: RequestObserver;

  constructor(kc: KubeConfig, options: { qps: number; burst: number; observe?: RequestObserver }) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.events = kc.makeApiClient(EventsV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
    this.limiter = new RateLimiter(options.qps, options.burst);
    this.observe = options.observe ?? (() => {});
  }

  /** Waits for a rate-limiter token, sends, and counts the request by verb, resource and HTTP status. */
  async call<T>(verb: string, resource: string, send: () => Promise<T>): Promise<T> {
    await this.limiter.take();
    try {
      const result = await send();
      this.observe(verb, resource, 200);
      return result;
    } catch (err) {
      this.observe(verb, resource, statusOf(err));
      throw err;
    }
  }

  createPod(pod: V1Pod, dryRun = false): Promise<V1Pod> {
    const namespace = pod.metadata?.namespace ?? '';
    return this.call('create', 'pods', () => this.core.createNamespacedPod({ namespace, body: pod, ...(dryRun ? { dryRun: 'All' } : {}) }));
  }

  async deletePod(namespace: string, name: string, uid: string): Promise<void> {
    await this.call('delete', 'pods', () => this.core.deleteNamespacedPod({ namespace, name, body: { preconditions: { uid } } }));
  }

  async deleteClaim(namespace: string, name: string, uid: string): Promise<void> {
    await this.call('delete', 'persistentvolumeclaims', () =>
      this.core.deleteNamespacedPersistentVolumeClaim({ namespace, name, body: { preconditions: { uid } } }));
  }

  /** Merge-patches annotations; the uid in the patch makes the API server refuse a different object of that name. */
  async annotateClaim(namespace: string, name: string, uid: string, annotations: Record<string, string>): Promise<void> {
    await this.call('patch', 'persistentvolumeclaims', () => this.core.patchNamespacedPersistentVolumeClaim(
      { namespace, name, body: { metadata: { uid, annotations } } }, mergePatch));
  }

  /** Replaces the finalizer list, guarded by resourceVersion so a concurrent change is never overwritten. */
  async setFinalizers(namespace: string, name: string, resourceVersion: string, finalizers: string[]): Promise<void> {
    await this.call('patch', 'statefulsets', () => this.apps.patchNamespacedStatefulSet(
      { namespace, name, body: { metadata: { resourceVersion, finalizers } } }, mergePatch));
  }

  /** Events have their own rate limit (see EventRecorder), so this bypasses the request limiter. */
  async createEvent(event: EventsV1Event): Promise<void> {
    const namespace = event.metadata?.namespace ?? '';
    try {
      await this.events.createNamespacedEvent({ namespace, body: event });
      this.observe('create', 'events', 200);
    } catch (err) {
      this.observe('create', 'events', statusOf(err));
      throw err;
    }
  }

  getLease(namespace: string, name: string): Promise<V1Lease> {
    return this.call('get', 'leases', () => this.coordination.readNamespacedLease({ namespace, name }));
  }

  createLease(lease: V1Lease): Promise<V1Lease> {
    return this.call('create', 'leases', () => this.coordination.createNamespacedLease({ namespace: lease.metadata?.namespace ?? '', body: lease }));
  }

  replaceLease(lease: V1Lease): Promise<V1Lease> {
    return this.call('update', 'leases', () => this.coordination.replaceNamespacedLease({
      namespace: lease.metadata?.namespace ?? '', name: lease.metadata?.name ?? '', body: lease,
    }));
  }

  // Lists for the informers (watches are long-lived and not rate limited, as in client-go). Paginated, and
  // each page is trimmed before the next is fetched, so a large cluster never sits in memory whole.
  private async listAll<T>(resource: string, page: (cont?: string) => Promise<{ items: T[]; metadata?: V1ListMeta }>,
    trim: (item: T) => T = (item) => item): Promise<{ items: T[]; metadata?: V1ListMeta }> {
    const items: T[] = [];
    let cont: string | undefined;
    let metadata: V1ListMeta | undefined;
    do {
      const result = await this.call('list', resource, () => page(cont));
      for (const item of result.items) items.push(trim(item));
      metadata = result.metadata;
      cont = metadata?._continue || undefined;
    } while (cont);
    return { items, metadata };
  }

  listStatefulSets(namespace?: string, options: ListOptions<V1StatefulSet> = {}) {
    const { labelSelector } = options;
    return this.listAll('statefulsets', (_continue) => namespace
      ? this.apps.listNamespacedStatefulSet({ namespace, labelSelector, limit: PAGE, _continue })
      : this.apps.listStatefulSetForAllNamespaces({ labelSelector, limit: PAGE, _continue }), options.trim);
  }

  listClaims(namespace?: string, options: ListOptions<V1PersistentVolumeClaim> = {}) {
    return this.listAll('persistentvolumeclaims', (_continue) => namespace
      ? this.core.listNamespacedPersistentVolumeClaim({ namespace, limit: PAGE, _continue })
      : this.core.listPersistentVolumeClaimForAllNamespaces({ limit: PAGE, _continue }), options.trim);
  }

  listPods(namespace?: string, options: ListOptions<V1Pod> = {}) {
    return this.listAll('pods', (_continue) => namespace
      ? this.core.listNamespacedPod({ namespace, limit: PAGE, _continue })
      : this.core.listPodForAllNamespaces({ limit: PAGE, _continue }), options.trim);
  }
}
