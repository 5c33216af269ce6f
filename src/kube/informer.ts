// A list+watch cache of one resource that never gives up. The state is first streamed as a watch with
// sendInitialEvents (Kubernetes' "watch list": the objects arrive one by one from the API server's watch
// cache, then a bookmark marks the end), so even a large cluster never sits in memory as one big list;
// servers without it get a paginated list and a watch from its resourceVersion. A watch the server ends
// is resumed where it stopped; an expired one (410 Gone) or any failure leads to a fresh sync (with
// backoff), whose difference to what was known is delivered as add/update/delete, so a lost watch never
// loses a change. A watch that breaks or goes silent (no event and no bookmark for longer than the idle
// timeout) is resumed from the last resourceVersion, as client-go's reflector does.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { describeApiError } from './api.ts';
import { ApiError, METADATA_ONLY, WatchIdleError, type KubeHttpClient, type WatchEvent } from './http-client.ts';
import { exponentialBackoffMs } from '../backoff.ts';
import { NameSet } from './name-set.ts';

export type ChangeHandler<T> = (kind: 'add' | 'update' | 'delete', obj: T) => void;

export interface ListResult<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

const MAX_BACKOFF_MS = 30_000;
/**
 * The API server sends a bookmark on every watch about once a minute (allowWatchBookmarks), so a watch
 * silent for much longer than that is a connection that died without a word.
 */
export const DEFAULT_WATCH_IDLE_TIMEOUT_MS = 150_000;
export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

export class ResilientInformer<T extends KubernetesObject> {
  private known = new NameSet();
  /** The names seen so far while the state is being streamed; undefined once it is complete. */
  private syncing: NameSet | undefined;
  /** False once the server refused a streaming list: list+watch from then on. */
  private streaming = true;
  private onFirstSync: (() => void) | undefined;
  /** Rejects start(): the API server refused (401, 403) before the first full state came in. */
  private onFirstRefusal: ((err: unknown) => void) | undefined;
  private resourceVersion = '';
  private stopped = false;
  private readonly abort = new AbortController();
  /** Failed lists and watches since the last event received. */
  private failures = 0;
  private readonly description: string;
  private readonly client: KubeHttpClient;
  private readonly path: string;
  private readonly list: () => Promise<ListResult<T>>;
  private readonly onChange: ChangeHandler<T>;
  private readonly log: Logger;
  private readonly labelSelector: string | undefined;
  private readonly metadataOnly: boolean;
  private readonly trim: (obj: T) => T;
  private readonly idleTimeoutMs: number;
  /** When the API server last sent anything on this informer's streams (a list, an event, a bookmark), on the monotonic clock. */
  lastHeardAt = 0;

  /**
   * `list` returns objects already trimmed (and metadata only, with `metadataOnly`); `trim` is applied to
   * objects arriving on the watch.
   */
  constructor(client: KubeHttpClient, path: string, list: () => Promise<ListResult<T>>, onChange: ChangeHandler<T>, log: Logger,
    options: { labelSelector?: string; metadataOnly?: boolean; trim?: (obj: T) => T; idleTimeoutMs?: number } = {}) {
    this.client = client;
    this.path = path;
    this.list = list;
    this.onChange = onChange;
    this.log = log;
    this.labelSelector = options.labelSelector;
    this.metadataOnly = options.metadataOnly ?? false;
    this.trim = options.trim ?? ((obj: T) => obj);
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_WATCH_IDLE_TIMEOUT_MS;
    this.description = `${path}${options.labelSelector ? `?labelSelector=${options.labelSelector}` : ''}`;
  }

  /**
   * Resolves once the first full state is in the cache (retrying until it is); watching goes on in the
   * background. Rejects if the API server refuses the list or watch (401, 403) before that: missing
   * permissions are a mistake to report at start-up, not to retry for ever. Later refusals are retried.
   */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.onFirstSync = resolve;
      this.onFirstRefusal = reject;
      void this.run();
    });
  }

  /** True (and start() rejected, this informer stopped) when `err` is a refusal before the first full state. */
  private refusedAtStart(err: unknown): boolean {
    const code = err instanceof ApiError ? err.code : 0;
    if ((code !== 401 && code !== 403) || !this.onFirstRefusal) return false;
    this.onFirstRefusal(err);
    this.onFirstSync = undefined;
    this.onFirstRefusal = undefined;
    this.stopped = true;
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.onFirstSync?.();
  }

  /** The end of a full state (streamed or listed): what was known but is not in it was deleted meanwhile. */
  private finishSync(seen: NameSet): void {
    this.log.debug('state complete', { resource: this.description, resourceVersion: this.resourceVersion });
    for (const gone of this.known.missingFrom(seen)) this.onChange('delete', gone as T);
    this.known = seen;
    this.syncing = undefined;
    this.onFirstSync?.();
    this.onFirstSync = undefined;
    this.onFirstRefusal = undefined;
  }

  /** The fallback for servers without streaming lists: a paginated list. False when it failed. */
  private async relist(): Promise<boolean> {
    let result: ListResult<T>;
    try {
      result = await this.list();
    } catch (err) {
      if (this.refusedAtStart(err)) return true;
      this.log.warn('list failed, retrying', { resource: this.description, error: describeApiError(err) });
      return false;
    }
    if (this.stopped) return true;
    this.lastHeardAt = performance.now();
    const seen = new NameSet();
    for (const obj of result.items) this.deliver(obj, seen);
    this.resourceVersion = result.metadata?.resourceVersion ?? '';
    this.finishSync(seen);
    return true;
  }

  private deliver(obj: T, seen?: NameSet): void {
    seen?.add(obj);
    const existed = this.known.has(obj);
    this.known.add(obj);
    this.onChange(existed ? 'update' : 'add', obj);
  }

  private apply(event: WatchEvent<T>): void {
    if (event.type === 'ERROR') {
      const status = event.object as unknown as { code?: number; message?: string; reason?: string };
      throw new ApiError(status.code ?? 0, status.message ?? 'watch error', status.reason);
    }
    this.resourceVersion = event.object.metadata?.resourceVersion ?? this.resourceVersion;
    this.failures = 0;
    this.lastHeardAt = performance.now();
    if (event.type === 'BOOKMARK') {
      if (this.syncing && event.object.metadata?.annotations?.[INITIAL_EVENTS_END] === 'true') this.finishSync(this.syncing);
      return;
    }
    const obj = this.trim(event.object);
    if (event.type === 'DELETED') {
      this.known.delete(obj);
      this.syncing?.delete(obj);
      this.onChange('delete', obj);
      return;
    }
    this.deliver(obj, this.syncing);
  }

  private async run(): Promise<void> {
    // Set while a full state is needed: at start, after an expired watch or a failure.
    let needSync = true;
    while (!this.stopped) {
      try {
        if (needSync && !this.streaming) {
          if (!(await this.relist())) {
            await this.sleepBackoff();
            continue;
          }
          needSync = false;
        }
        if (needSync) this.syncing = new NameSet();
        this.log.debug('watching',
          { resource: this.description, streamingState: needSync, resourceVersion: needSync ? undefined : this.resourceVersion });
        // As client-go's reflector: a random server-side timeout spreads the watches' renewals.
        await this.client.watch<T>(this.path, {
          ...(needSync ? { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', resourceVersion: '' }
            : { resourceVersion: this.resourceVersion }),
          allowWatchBookmarks: true, labelSelector: this.labelSelector, timeoutSeconds: 300 + Math.floor(Math.random() * 300),
        }, (event) => {
          if (!this.stopped) this.apply(event);
        }, this.abort.signal, {
          accept: this.metadataOnly ? METADATA_ONLY.watch : undefined, idleTimeoutMs: this.idleTimeoutMs,
          onOpen: () => (this.lastHeardAt = performance.now()),
        });
        // The server ended the watch (its timeout); resume it, or stream again if the state never completed.
        needSync = this.syncing !== undefined;
        continue;
      } catch (err) {
        if (this.stopped || this.refusedAtStart(err)) return;
        const code = err instanceof ApiError ? err.code : 0;
        // A complete state is resumed from its resourceVersion; one still being streamed starts over.
        needSync = this.syncing !== undefined || this.resourceVersion === '';
        if (this.streaming && this.syncing && (code === 400 || code === 422)) {
          this.log.info('the API server does not stream lists; listing instead',
            { resource: this.description, error: describeApiError(err) });
          this.streaming = false;
        } else if (code === 410) {
          needSync = true;
          this.log.info('watch expired, syncing again', { resource: this.description });
        } else if (err instanceof WatchIdleError) {
          this.log.warn('watch went silent; resuming it',
            { resource: this.description, resourceVersion: this.resourceVersion, error: describeApiError(err) });
        } else {
          this.log.warn(needSync ? 'watch failed, syncing again' : 'watch failed, resuming it',
            { resource: this.description, error: describeApiError(err) });
          await this.sleepBackoff();
        }
      }
    }
  }

  /** Doubling backoff with jitter (half fixed, half random), so many informers do not retry in step. */
  private async sleepBackoff(): Promise<void> {
    this.failures += 1;
    const backoffMs = exponentialBackoffMs(this.failures, 500, MAX_BACKOFF_MS);
    await new Promise((r) => setTimeout(r, backoffMs / 2 + Math.random() * (backoffMs / 2)));
  }
}
