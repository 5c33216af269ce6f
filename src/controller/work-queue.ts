// A keyed work queue on p-queue, with client-go workqueue semantics: a key is processed by one worker at a
// time, adds while it waits are collapsed, adds while it runs make it run once more, failures back off per key.
import PQueue from 'p-queue';

export interface WorkQueueOptions {
  concurrency: number;
  baseRetryMs: number;
  maxRetryMs: number;
}

export class WorkQueue {
  private readonly queue: PQueue;
  private readonly waiting = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly handler: (key: string) => Promise<void>;
  private readonly options: WorkQueueOptions;
  private shuttingDown = false;

  constructor(handler: (key: string) => Promise<void>, options: WorkQueueOptions) {
    this.handler = handler;
    this.options = options;
    this.queue = new PQueue({ concurrency: options.concurrency });
  }

  /** Keys waiting to be processed (not counting the ones being processed). */
  get depth(): number {
    return this.waiting.size;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.waiting.has(key)) return;
    this.waiting.add(key);
    void this.queue.add(() => this.process(key));
  }

  /** Adds the key after a delay; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    const at = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  private async process(key: string): Promise<void> {
    this.waiting.delete(key);
    this.running.add(key);
    try {
      await this.handler(key);
      this.failures.delete(key);
    } catch {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      this.addAfter(key, Math.min(this.options.maxRetryMs, this.options.baseRetryMs * 2 ** (n - 1)));
    } finally {
      this.running.delete(key);
      if (this.dirty.delete(key)) this.add(key);
    }
  }

  /** Stops taking keys and waits for the ones in flight. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.clear();
    this.waiting.clear();
    await this.queue.onIdle();
  }
}
