// A list+watch cache of one resource that never gives up: it lists, then watches from the list's
// resourceVersion; a watch the server ends is resumed where it stopped, an expired one (410 Gone) or any
// failure leads to a relist (with backoff), and the relist's difference to the cache is delivered as
// add/update/delete, so a lost watch never loses a change.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { ApiError, type KubeHttpClient, type WatchEvent } from './http-client.ts';

export type ChangeHandler<T> = (kind: 'add' | 'update' | 'delete', obj: T) => void;

export interface ListResult<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

const MAX_BACKOFF_MS = 30_000;

/**
 * The names the informer has delivered, by namespace: all a relist needs to tell what disappeared. The
 * objects themselves live only in the consumer's cache (one copy in memory, not two).
 */
class NameSet {
  private readonly byNamespace = new Map<string, Set<string>>();

  has(obj: KubernetesObject): boolean {
    return this.byNamespace.get(obj.metadata?.namespace ?? '')?.has(obj.metadata?.name ?? '') ?? false;
  }

  add(obj: KubernetesObject): void {
    const namespace = obj.metadata?.namespace ?? '';
    let names = this.byNamespace.get(namespace);
    if (!names) this.byNamespace.set(namespace, (names = new Set()));
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
      for (const name of names) if (!other.byNamespace.get(namespace)?.has(name)) missing.push({ metadata: { namespace: namespace || undefined, name } });
    }
    return missing;
  }
}

export class ResilientInformer<T extends KubernetesObject> {
  private known = new NameSet();
  private resourceVersion = '';
  private stopped = false;
  private readonly abort = new AbortController();
  private backoffMs = 0;
  private readonly description: string;
  private readonly client: KubeHttpClient;
  private readonly path: string;
  private readonly list: () => Promise<ListResult<T>>;
  private readonly onChange: ChangeHandler<T>;
  private readonly log: Logger;
  private readonly labelSelector: string | undefined;
  private readonly trim: (obj: T) => T;

  /** `list` returns objects already trimmed; `trim` is applied to objects arriving on the watch. */
  constructor(client: KubeHttpClient, path: string, list: () => Promise<ListResult<T>>, onChange: ChangeHandler<T>, log: Logger,
    options: { labelSelector?: string; trim?: (obj: T) => T } = {}) {
    this.client = client;
    this.path = path;
    this.list = list;
    this.onChange = onChange;
    this.log = log;
    this.labelSelector = options.labelSelector;
    this.trim = options.trim ?? ((obj: T) => obj);
    this.description = `${path}${options.labelSelector ? `?labelSelector=${options.labelSelector}` : ''}`;
  }

  /** Resolves once the first list is in the cache (retrying until it is); watching goes on in the background. */
  async start(): Promise<void> {
    while (!this.stopped && !(await this.relist())) await this.sleepBackoff();
    void this.watchForever();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
  }

  /** Replaces the cache with a fresh list and reports the difference. False when the list failed. */
  private async relist(): Promise<boolean> {
    let result: ListResult<T>;
    try {
      result = await this.list();
    } catch (err) {
      this.log.warn('list failed, retrying', { resource: this.description, error: String((err as Error)?.message ?? err) });
      return false;
    }
    if (this.stopped) return true;
    // Everything listed is delivered (a relist is rare and its consumer re-checks each object anyway);
    // what is no longer there is delivered as deleted.
    const listed = new NameSet();
    for (const obj of result.items) {
      listed.add(obj);
      this.onChange(this.known.has(obj) ? 'update' : 'add', obj);
    }
    for (const gone of this.known.missingFrom(listed)) this.onChange('delete', gone as T);
    this.known = listed;
    this.resourceVersion = result.metadata?.resourceVersion ?? '';
    return true;
  }

  private apply(event: WatchEvent<T>): void {
    if (event.type === 'ERROR') {
      const status = event.object as unknown as { code?: number; message?: string; reason?: string };
      throw new ApiError(status.code ?? 0, status.message ?? 'watch error', status.reason);
    }
    this.resourceVersion = event.object.metadata?.resourceVersion ?? this.resourceVersion;
    this.backoffMs = 0;
    if (event.type === 'BOOKMARK') return;
    const obj = this.trim(event.object);
    if (event.type === 'DELETED') {
      this.known.delete(obj);
      this.onChange('delete', obj);
      return;
    }
    const existed = this.known.has(obj);
    this.known.add(obj);
    this.onChange(existed ? 'update' : 'add', obj);
  }

  private async watchForever(): Promise<void> {
    while (!this.stopped) {
      try {
        // As client-go's reflector: a random server-side timeout spreads the watches' renewals.
        await this.client.watch<T>(this.path, {
          resourceVersion: this.resourceVersion, allowWatchBookmarks: true, labelSelector: this.labelSelector,
          timeoutSeconds: 300 + Math.floor(Math.random() * 300),
        }, (event) => {
          if (!this.stopped) this.apply(event);
        }, this.abort.signal);
        continue;
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof ApiError && err.code === 410) {
          this.log.info('watch expired, relisting', { resource: this.description });
        } else {
          this.log.warn('watch failed, relisting', { resource: this.description, error: String((err as Error)?.message ?? err) });
          await this.sleepBackoff();
        }
      }
      while (!this.stopped && !(await this.relist())) await this.sleepBackoff();
    }
  }

  private async sleepBackoff(): Promise<void> {
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs ? this.backoffMs * 2 : 500);
    await new Promise((r) => setTimeout(r, this.backoffMs));
  }
}
