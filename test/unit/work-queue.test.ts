import { jest } from '@jest/globals';
import { WorkQueue } from '../../src/controller/work-queue.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const flush = () => new Promise((r) => setImmediate(r));

/** One worker whose first sync waits until `finish()`, which then lets the queue run dry and returns the keys in the order run. */
function heldQueue() {
  const seen: string[] = [];
  const gate = deferred();
  const q = new WorkQueue(async (key) => {
    seen.push(key);
    if (seen.length === 1) await gate.promise;
  }, { concurrency: 1, baseRetryMs: 1, maxRetryMs: 1 });
  const finish = async () => {
    gate.resolve();
    await new Promise((r) => setTimeout(r, 20));
    await q.shutdown();
    return seen;
  };
  return { q, finish };
}

describe('WorkQueue', () => {
  it('a wake-up further off than a Node.js timer can wait is not run at once (a timer past 2^31 - 1 ms fires after 1 ms)', async () => {
    const seen: string[] = [];
    const q = new WorkQueue(async (key) => {
      seen.push(key);
    }, { concurrency: 1, baseRetryMs: 1, maxRetryMs: 1 });
    q.addAfter('far', 2 ** 33);
    await new Promise((r) => setTimeout(r, 30));
    await q.shutdown();
    expect(seen).toEqual([]);
  });

  it('collapses duplicate adds of a waiting key', async () => {
    const { q, finish } = heldQueue();
    q.add('a');
    q.add('b');
    q.add('b');
    q.add('b');
    expect(q.depth).toBe(1);
    expect(await finish()).toEqual(['a', 'b']);
  });

  it('never runs one key twice at once, and runs it again if it changed meanwhile', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const gate = deferred();
    const q = new WorkQueue(async () => {
      running += 1;
      runs += 1;
      maxRunning = Math.max(maxRunning, running);
      if (runs === 1) await gate.promise;
      running -= 1;
    }, { concurrency: 4, baseRetryMs: 1, maxRetryMs: 1 });
    q.add('a');
    await flush();
    q.add('a');
    q.add('a');
    gate.resolve();
    await new Promise((r) => setTimeout(r, 20));
    await q.shutdown();
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
  });

  it('runs urgent keys ahead of the rest, in the order they came, and promotes a waiting key added urgently', async () => {
    const { q, finish } = heldQueue();
    q.add('busy');
    await flush();
    q.add('resync-1');
    q.add('resync-2');
    q.add('pod-gone-1', true);
    q.add('resync-3');
    q.add('resync-2', true);
    q.add('pod-gone-1');
    expect(q.depth).toBe(4);
    expect(await finish()).toEqual(['busy', 'pod-gone-1', 'resync-2', 'resync-1', 'resync-3']);
  });

  it('a key added urgently while it runs runs again ahead of the rest', async () => {
    const { q, finish } = heldQueue();
    q.add('a');
    await flush();
    q.add('b');
    q.add('a', true);
    q.add('a');
    expect(await finish()).toEqual(['a', 'a', 'b']);
  });

  it('retries a failing key with growing delays', async () => {
    const times: number[] = [];
    const q = new WorkQueue(async () => {
      times.push(Date.now());
      if (times.length < 3) throw new Error('boom');
    }, { concurrency: 1, baseRetryMs: 50, maxRetryMs: 1000 });
    q.add('a');
    for (let i = 0; i < 100 && times.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    await q.shutdown();
    expect(times).toHaveLength(3);
    // Timers never fire early, so the gaps are at least the backoff delays (50 ms, then 100 ms).
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(49);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(99);
  });
  it('the retry delay doubles with each failure up to its cap (on a fake clock: exact delays)', async () => {
    jest.useFakeTimers();
    try {
      const times: number[] = [];
      const q = new WorkQueue(async () => {
        times.push(Date.now());
        throw new Error('boom');
      }, { concurrency: 1, baseRetryMs: 50, maxRetryMs: 300 });
      q.add('a');
      for (let i = 0; i < 40 && times.length < 6; i++) await jest.advanceTimersByTimeAsync(25);
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      expect(gaps.slice(0, 5)).toEqual([50, 100, 200, 300, 300]);
      jest.useRealTimers();
      await q.shutdown();
    } finally {
      jest.useRealTimers();
    }
  });
});
