// A keyed work queue on p-queue, with client-go workqueue semantics: a key is processed by one worker at a
// time, adds while it waits are collapsed, adds while it runs make it run once more, failures back off per key.
// One addition: an urgent add goes ahead of every key that is not urgent (and promotes that key if it waits).
import PQueue from 'p-queue';
import { exponentialBackoffMs } from '../backoff.ts';

const URGENT = 1;
/** The longest delay a Node.js timer keeps (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface WorkQueueOptions {
  concurrency: number;
  baseRetryMs: number;
  maxRetryMs: number;
  /** Told of each add, retry, wait and piece of work (the workqueue_* metrics). */
  observer?: WorkQueueObserver;
}

export interface WorkQueueObserver {
  added(): void;
  retried(): void;
  /** Seconds a key waited between being added and being picked up. */
  waited(seconds: number): void;
  /** Seconds one sync of a key took. */
  worked(seconds: number): void;
}

const NO_OBSERVER: WorkQueueObserver = { added() {}, retried() {}, waited() {}, worked() {} };

export class WorkQueue {
  private readonly queue: PQueue;
  /** Keys waiting, with when they were added and whether they go ahead of the rest. */
  private readonly waiting = new Map<string, { since: number; urgent: boolean }>();
  /** Keys being processed, with when that started. */
  private readonly running = new Map<string, number>();
  /** Keys added while being processed, to run once more (urgently, if any of those adds was). */
  private readonly dirty = new Map<string, boolean>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly handler: (key: string) => Promise<void>;
  private readonly options: WorkQueueOptions;
  private readonly observer: WorkQueueObserver;
  private shuttingDown = false;

  constructor(handler: (key: string) => Promise<void>, options: WorkQueueOptions) {
    this.handler = handler;
    this.options = options;
    this.observer = options.observer ?? NO_OBSERVER;
    this.queue = new PQueue({ concurrency: options.concurrency });
  }

  /** How long the longest sync in progress has been running, in seconds (0 when none is). */
  longestRunningSeconds(now = performance.now()): number {
    let oldest = now;
    for (const started of this.running.values()) oldest = Math.min(oldest, started);
    return (now - oldest) / 1000;
  }

  /** Seconds of work in progress, summed over the syncs running now. */
  unfinishedWorkSeconds(now = performance.now()): number {
    let total = 0;
    for (const started of this.running.values()) total += (now - started) / 1000;
    return total;
  }

  /** Keys waiting to be processed (not counting the ones being processed). */
  get depth(): number {
    return this.waiting.size;
  }

  add(key: string, urgent = false): void {
    if (this.shuttingDown) return;
    if (this.running.has(key)) {
      this.dirty.set(key, urgent || (this.dirty.get(key) ?? false));
      return;
    }
    const waiting = this.waiting.get(key);
    if (waiting) {
      if (urgent && !waiting.urgent) {
        // Stryker disable next-line BooleanLiteral: the flag only spares a second setPriority for a key already urgent.
        waiting.urgent = true;
        this.queue.setPriority(key, URGENT);
      }
      return;
    }
    this.observer.added();
    this.waiting.set(key, { since: performance.now(), urgent });
    void this.queue.add(() => this.process(key), { id: key, priority: urgent ? URGENT : 0 });
  }

  /** Adds the key after a delay; an earlier pending delay for the same key wins. */
  addAfter(key: string, requestedMs: number): void {
    // Stryker disable next-line ConditionalExpression: a timer set after shutdown would find add() refusing too.
    if (this.shuttingDown) return;
    // Node fires a timer of more than 2^31 - 1 ms after 1 ms: a far-off wake-up would become a hot loop.
    const delayMs = Math.min(requestedMs, MAX_TIMER_MS);
    const at = performance.now() + delayMs;
    const existing = this.timers.get(key);
    // Stryker disable next-line EqualityOperator: a new timer for the same moment is the same wake-up.
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    // Stryker disable next-line CallExpression: only whether the timer keeps a stopping process alive.
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  private async process(key: string): Promise<void> {
    const started = performance.now();
    // Stryker disable next-line OptionalChaining: a key runs only from the queue, where add() put it in waiting first.
    this.observer.waited((started - (this.waiting.get(key)?.since ?? started)) / 1000);
    this.waiting.delete(key);
    this.running.set(key, started);
    try {
      await this.handler(key);
      this.failures.delete(key);
    } catch {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      this.observer.retried();
      this.addAfter(key, exponentialBackoffMs(n, this.options.baseRetryMs, this.options.maxRetryMs));
    } finally {
      this.observer.worked((performance.now() - started) / 1000);
      this.running.delete(key);
      const again = this.dirty.get(key);
      if (again !== undefined) {
        this.dirty.delete(key);
        this.add(key, again);
      }
    }
  }

  /** Stops taking keys and waits for the ones in flight. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    // Stryker disable next-line CallExpression: a timer left to fire finds add() refusing; clearing it only frees it sooner.
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    // Stryker disable next-line CallExpression: nothing reads the timers after shutdown.
    this.timers.clear();
    this.queue.clear();
    this.waiting.clear();
    await this.queue.onIdle();
  }
}
