// A list+watch cache of one resource that never gives up: client-node's ListWatch relists on 410 Gone and
// resumes after a watch ends, but stops on any other error; this restarts it with backoff.
import { ADD, DELETE, ERROR, ListWatch, UPDATE, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';

export type ChangeHandler<T> = (kind: 'add' | 'update' | 'delete', obj: T) => void;

/** A Watch that hands each object through `trim` before the cache stores it. */
class TrimmingWatch<T> extends Watch {
  private readonly trim: (obj: T) => T;

  constructor(kc: KubeConfig, trim: (obj: T) => T) {
    super(kc);
    this.trim = trim;
  }

  override watch(path: string, query: Record<string, string | number | boolean | undefined>, callback: (phase: string, obj: unknown, raw?: unknown) => void, done: (err: unknown) => void) {
    return super.watch(path, query, (phase, obj, raw) => callback(phase, phase === 'ERROR' || phase === 'BOOKMARK' ? obj : this.trim(obj as T), raw), done);
  }
}

export class ResilientInformer<T extends KubernetesObject> {
  private readonly informer: ListWatch<T>;
  private listed = false;
  private stopped = false;
  private restartDelayMs = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly description: string;
  private readonly log: Logger;

  /** `list` returns objects already trimmed; `trim` is applied to objects arriving on the watch. */
  constructor(kc: KubeConfig, path: string, list: () => Promise<KubernetesListObject<T>>, onChange: ChangeHandler<T>, log: Logger,
    options: { labelSelector?: string; trim?: (obj: T) => T } = {}) {
    this.description = `${path}${options.labelSelector ? `?labelSelector=${options.labelSelector}` : ''}`;
    this.log = log;
    const trim = options.trim ?? ((obj: T) => obj);
    this.informer = new ListWatch<T>(path, new TrimmingWatch<T>(kc, trim), async () => {
      const result = await list();
      this.listed = true;
      return result;
    }, false, options.labelSelector);
    this.informer.on(ADD, (obj) => onChange('add', obj));
    this.informer.on(UPDATE, (obj) => onChange('update', obj));
    this.informer.on(DELETE, (obj) => onChange('delete', obj));
    this.informer.on(ERROR, (err) => this.restartLater(err));
  }

  /** Resolves once the first list has been loaded into the cache (retrying until it is). */
  async start(): Promise<void> {
    while (!this.stopped) {
      await this.informer.start();
      if (this.listed) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  private restartLater(err: unknown): void {
    if (this.stopped) return;
    this.restartDelayMs = Math.min(30_000, this.restartDelayMs ? this.restartDelayMs * 2 : 500);
    this.log.warn('watch failed, restarting', { resource: this.description, error: String((err as Error)?.message ?? err), retryInMs: this.restartDelayMs });
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      void this.informer.start().then(() => {
        this.restartDelayMs = 0;
      });
    }, this.restartDelayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.informer.stop();
  }
}
