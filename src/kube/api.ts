// Every write and one-off read the controller makes, behind one rate limiter and one request counter.
import type {
  EventsV1Event, V1Lease, V1LeaseSpec, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1StatefulSet,
} from '@kubernetes/client-node';
import { ApiError, METADATA_ONLY, type KubeHttpClient } from './http-client.ts';
import { RateLimiter } from './rate-limiter.ts';
import { DEFAULT_RETRY, retryable, retryDelayMs, type RetryPolicy } from './retry.ts';

const PAGE = 250;
const MERGE_PATCH = 'application/merge-patch+json';

export interface ListOptions<T> {
  labelSelector?: string;
  /** Ask for PartialObjectMetadata: the items carry metadata only. */
  metadataOnly?: boolean;
  /** Applied to each item as its page arrives. */
  trim?: (item: T) => T;
}

/** Objects arrive as the API's JSON: timestamps are RFC 3339 strings, although client-node's types say Date. */
export type MicroTime = string;
export type EventBody = Omit<EventsV1Event, 'eventTime'> & { eventTime: MicroTime };
export type Lease = Omit<V1Lease, 'spec'> &
  { spec?: Omit<V1LeaseSpec, 'acquireTime' | 'renewTime'> & { acquireTime?: MicroTime; renewTime?: MicroTime } };

/** The API's MicroTime format: RFC 3339 with six fractional digits. */
export function microTime(ms: number): MicroTime {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

/** A list's metadata as sent (client-node renames `continue` to `_continue`). */
interface ListMeta {
  resourceVersion?: string;
  continue?: string;
}

export type RequestObserver = (verb: string, resource: string, code: number) => void;
/** Told of each request sent again: what failed, and how long until the next attempt. */
export type RetryObserver = (verb: string, resource: string, code: number, delayMs: number) => void;

export function statusOf(err: unknown): number {
  return err instanceof ApiError ? err.code : 0;
}

export function describeApiError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const ns = (namespace?: string) => (namespace ? `/namespaces/${namespace}` : '');

export class KubeApi {
  private readonly client: KubeHttpClient;
  private readonly limiter: RateLimiter;
  private readonly observe: RequestObserver;
  private readonly retry: RetryPolicy;
  private readonly onRetry: RetryObserver;
  private readonly fence: (verb: string, resource: string) => void;

  /**
   * `fence`, when given, is asked right before each attempt is written to its connection (after its
   * rate-limiter token and any wait for a connection, before every retry; http-client.ts `beforeSend`) and
   * stops the request by throwing: a caller that may write only while it holds a lease closes it when the
   * lease lapses, however long the request has waited.
   */
  constructor(client: KubeHttpClient, options: {
    qps: number; burst: number; observe?: RequestObserver; retry?: RetryPolicy; onRetry?: RetryObserver;
    fence?: (verb: string, resource: string) => void;
  }) {
    this.client = client;
    this.fence = options.fence ?? (() => {});
    this.limiter = new RateLimiter(options.qps, options.burst);
    this.observe = options.observe ?? (() => {});
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.onRetry = options.onRetry ?? (() => {});
  }

  /**
   * Waits for a rate-limiter token, sends, and counts the request by verb, resource and HTTP status. A
   * transient failure (429, and for idempotent verbs 5xx or a broken connection) is sent again after the
   * server's Retry-After or a jittered backoff, each attempt with its own token (retry.ts).
   */
  async call<T>(verb: string, resource: string, send: (beforeSend: () => void) => Promise<T>): Promise<T> {
    const beforeSend = () => this.fence(verb, resource);
    for (let attempt = 1; ; attempt++) {
      await this.limiter.take();
      try {
        return await this.counted(verb, resource, () => send(beforeSend));
      } catch (err) {
        const delay = attempt < this.retry.attempts && retryable(verb, err) ? retryDelayMs(attempt, err, this.retry) : undefined;
        if (delay === undefined) throw err;
        this.onRetry(verb, resource, statusOf(err), delay);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private async counted<T>(verb: string, resource: string, send: () => Promise<T>): Promise<T> {
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
    return this.call('create', 'pods', (beforeSend) => this.client.request<V1Pod>('POST', `/api/v1${ns(pod.metadata?.namespace)}/pods`,
      { body: pod, query: { dryRun: dryRun ? 'All' : undefined }, beforeSend }));
  }

  async deletePod(namespace: string, name: string, uid: string): Promise<void> {
    await this.call('delete', 'pods', (beforeSend) => this.client.request('DELETE', `/api/v1${ns(namespace)}/pods/${name}`,
      { body: { preconditions: { uid } }, beforeSend }));
  }

  /** With `resourceVersion`, the API server also refuses (409) a claim changed since it was read. */
  async deleteClaim(namespace: string, name: string, uid: string, resourceVersion?: string): Promise<void> {
    await this.call('delete', 'persistentvolumeclaims', (beforeSend) => this.client.request('DELETE',
      `/api/v1${ns(namespace)}/persistentvolumeclaims/${name}`, { body: { preconditions: { uid, resourceVersion } }, beforeSend }));
  }

  /**
   * Merge-patches annotations (null removes one); the uid in the patch makes the API server refuse a different
   * object of that name, and a resourceVersion one changed since it was read (409 either way). Resolves to the
   * claim's new resourceVersion.
   */
  async annotateClaim(namespace: string, name: string, uid: string, annotations: Record<string, string | null>,
      resourceVersion?: string): Promise<string | undefined> {
    const patched = await this.call('patch', 'persistentvolumeclaims', (beforeSend) => this.client.request<V1PersistentVolumeClaim>('PATCH',
      `/api/v1${ns(namespace)}/persistentvolumeclaims/${name}`,
      { body: { metadata: { uid, annotations, ...(resourceVersion ? { resourceVersion } : {}) } }, contentType: MERGE_PATCH, beforeSend }));
    return patched?.metadata?.resourceVersion;
  }

  /** Replaces the finalizer list, guarded by resourceVersion so a concurrent change is never overwritten. */
  async setFinalizers(namespace: string, name: string, resourceVersion: string, finalizers: string[]): Promise<void> {
    await this.call('patch', 'statefulsets',
      (beforeSend) => this.client.request('PATCH', `/apis/apps/v1${ns(namespace)}/statefulsets/${name}`,
      { body: { metadata: { resourceVersion, finalizers } }, contentType: MERGE_PATCH, beforeSend }));
  }

  /** Events have their own rate limit (see EventRecorder), so this bypasses the request limiter, not the fence. */
  async createEvent(event: EventBody): Promise<void> {
    await this.counted('create', 'events', () => this.client.request('POST',
      `/apis/events.k8s.io/v1${ns(event.metadata?.namespace)}/events`, { body: event, beforeSend: () => this.fence('create', 'events') }));
  }

  /** A quorum read of one StatefulSet (no resourceVersion: the API server answers from etcd, never from its cache). */
  getStatefulSet(namespace: string, name: string): Promise<V1StatefulSet> {
    return this.call('get', 'statefulsets',
      (beforeSend) => this.client.request<V1StatefulSet>('GET', `/apis/apps/v1${ns(namespace)}/statefulsets/${name}`, { beforeSend }));
  }

  /** A quorum read of one pod. */
  getPod(namespace: string, name: string): Promise<V1Pod> {
    return this.call('get', 'pods',
      (beforeSend) => this.client.request<V1Pod>('GET', `/api/v1${ns(namespace)}/pods/${name}`, { beforeSend }));
  }

  /** A quorum read of one claim. */
  getClaim(namespace: string, name: string): Promise<V1PersistentVolumeClaim> {
    return this.call('get', 'persistentvolumeclaims', (beforeSend) => this.client.request<V1PersistentVolumeClaim>('GET',
      `/api/v1${ns(namespace)}/persistentvolumeclaims/${name}`, { beforeSend }));
  }

  createClaim(claim: V1PersistentVolumeClaim): Promise<V1PersistentVolumeClaim> {
    return this.call('create', 'persistentvolumeclaims', (beforeSend) => this.client.request<V1PersistentVolumeClaim>('POST',
      `/api/v1${ns(claim.metadata?.namespace)}/persistentvolumeclaims`, { body: claim, beforeSend }));
  }

  /** A quorum read of one PersistentVolume. */
  getVolume(name: string): Promise<V1PersistentVolume> {
    return this.call('get', 'persistentvolumes',
      (beforeSend) => this.client.request<V1PersistentVolume>('GET', `/api/v1/persistentvolumes/${name}`, { beforeSend }));
  }

  /**
   * Merge-patches a PersistentVolume, refused (409) when it changed since `resourceVersion` or is another
   * volume of that name (`uid`).
   */
  async patchVolume(name: string, uid: string, resourceVersion: string, patch: { metadata?: object; spec?: object }): Promise<void> {
    await this.call('patch', 'persistentvolumes', (beforeSend) => this.client.request('PATCH', `/api/v1/persistentvolumes/${name}`,
      { body: { ...patch, metadata: { ...patch.metadata, uid, resourceVersion } }, contentType: MERGE_PATCH, beforeSend }));
  }

  /** Whether this client may `verb` `resource` (cluster-wide): a SelfSubjectAccessReview. */
  async mayI(verb: string, group: string, resource: string): Promise<boolean> {
    const body = {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb, group, resource } },
    };
    const review = await this.call('create', 'selfsubjectaccessreviews', (beforeSend) =>
      this.client.request<{ status?: { allowed?: boolean } }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        { body, beforeSend }));
    return review.status?.allowed === true;
  }

  getLease(namespace: string, name: string): Promise<Lease> {
    return this.call('get', 'leases',
      (beforeSend) => this.client.request<Lease>('GET', `/apis/coordination.k8s.io/v1${ns(namespace)}/leases/${name}`, { beforeSend }));
  }

  createLease(lease: Lease): Promise<Lease> {
    return this.call('create', 'leases', (beforeSend) => this.client.request<Lease>('POST',
      `/apis/coordination.k8s.io/v1${ns(lease.metadata?.namespace)}/leases`, { body: lease, beforeSend }));
  }

  replaceLease(lease: Lease): Promise<Lease> {
    return this.call('update', 'leases', (beforeSend) => this.client.request<Lease>('PUT',
      `/apis/coordination.k8s.io/v1${ns(lease.metadata?.namespace)}/leases/${lease.metadata?.name}`, { body: lease, beforeSend }));
  }

  // Lists for the informers (watches are long-lived and not rate limited, as in client-go). Paginated, and
  // each page is trimmed before the next is fetched, so a large cluster never sits in memory whole.
  private async listAll<T>(resource: string, path: string, options: ListOptions<T>): Promise<{ items: T[]; metadata?: ListMeta }> {
    const { labelSelector, trim = (item: T) => item } = options;
    const items: T[] = [];
    let cont: string | undefined;
    let metadata: ListMeta | undefined;
    do {
      const result = await this.call('list', resource,
        (beforeSend) => this.client.request<{ items?: T[] | null; metadata?: ListMeta }>('GET', path,
        { query: { labelSelector, limit: PAGE, continue: cont },
          accept: options.metadataOnly ? METADATA_ONLY.list : undefined, beforeSend }));
      // A metadata-only list leaves `items` out when it is empty.
      for (const item of result.items ?? []) items.push(trim(item));
      metadata = result.metadata;
      cont = metadata?.continue || undefined;
    } while (cont);
    return { items, metadata };
  }

  listStatefulSets(namespace?: string, options: ListOptions<V1StatefulSet> = {}) {
    return this.listAll('statefulsets', `/apis/apps/v1${ns(namespace)}/statefulsets`, options);
  }

  listClaims(namespace?: string, options: ListOptions<V1PersistentVolumeClaim> = {}) {
    return this.listAll('persistentvolumeclaims', `/api/v1${ns(namespace)}/persistentvolumeclaims`, options);
  }

  /** A quorum list (no resourceVersion) of PersistentVolumes. */
  listVolumes(options: ListOptions<V1PersistentVolume> = {}) {
    return this.listAll('persistentvolumes', '/api/v1/persistentvolumes', options);
  }

  listPods(namespace?: string, options: ListOptions<V1Pod> = {}) {
    return this.listAll('pods', `/api/v1${ns(namespace)}/pods`, options);
  }
}
