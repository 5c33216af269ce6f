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
    q.add('resync-3'); // a plain add of a waiting key does not promote it
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

  it('a key added without urgency while it runs runs again after the keys already waiting', async () => {
    const { q, finish } = heldQueue();
    q.add('a');
    await flush();
    q.add('b');
    q.add('a');
    expect(await finish()).toEqual(['a', 'b', 'a']);
  });

  it('a success resets a key\'s backoff: its next failure waits the base delay again', async () => {
    jest.useFakeTimers();
    try {
      const times: number[] = [];
      const outcomes = [false, false, true, false, true];
      const q = new WorkQueue(async () => {
        times.push(Date.now());
        if (!outcomes[times.length - 1]) throw new Error('boom');
      }, { concurrency: 1, baseRetryMs: 50, maxRetryMs: 1_000 });
      q.add('a');
      await jest.advanceTimersByTimeAsync(200); // fails, fails, succeeds
      q.add('a');
      await jest.advanceTimersByTimeAsync(100); // fails, then succeeds after the base delay
      expect(times.slice(1).map((t, i) => t - times[i]!)).toEqual([50, 100, 50, 50]);
      await q.shutdown();
    } finally {
      jest.useRealTimers();
    }
  });

  it('of two delayed adds of one key the earlier wins: a later one does not postpone it, a sooner one brings it forward', async () => {
    jest.useFakeTimers();
    try {
      const times: number[] = [];
      const q = new WorkQueue(async () => {
        times.push(Date.now());
      }, { concurrency: 1, baseRetryMs: 1, maxRetryMs: 1 });
      const start = Date.now();
      q.addAfter('a', 100);
      q.addAfter('a', 500);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(times.map((t) => t - start)).toEqual([100]);
      q.addAfter('b', 500);
      q.addAfter('b', 100);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(times.map((t) => t - start)).toEqual([100, 1_100]);
      await q.shutdown();
    } finally {
      jest.useRealTimers();
    }
  });

  it('tells its observer of each add (duplicates collapsed), retry, wait and sync, in seconds', async () => {
    const seen = { added: 0, retried: 0, waited: [] as number[], worked: [] as number[] };
    let calls = 0;
    const q = new WorkQueue(async () => {
      calls += 1;
      await new Promise((r) => setTimeout(r, 40));
      if (calls === 1) throw new Error('boom');
    }, { concurrency: 1, baseRetryMs: 10, maxRetryMs: 10, observer: {
      added: () => (seen.added += 1), retried: () => (seen.retried += 1),
      waited: (s) => seen.waited.push(s), worked: (s) => seen.worked.push(s),
    } });
    q.add('a');
    q.add('b');
    q.add('b');
    for (let i = 0; i < 100 && seen.worked.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    await q.shutdown();
    // a fails after 40 ms and is added again 10 ms later; b waited for a, then ran 40 ms; then a ran again.
    expect({ added: seen.added, retried: seen.retried }).toEqual({ added: 3, retried: 1 });
    expect(seen.waited).toHaveLength(3);
    expect(seen.waited[0]).toBeLessThan(0.02);
    expect(seen.waited[1]).toBeGreaterThanOrEqual(0.039);
    expect(seen.waited[1]).toBeLessThan(1);
    for (const s of seen.worked) expect(s).toBeGreaterThanOrEqual(0.039);
    for (const s of seen.worked) expect(s).toBeLessThan(1);
  });

  it('reports how long its syncs in progress have run: the longest, and their sum', async () => {
    const gate = deferred();
    const q = new WorkQueue(() => gate.promise, { concurrency: 2, baseRetryMs: 1, maxRetryMs: 1 });
    expect(q.longestRunningSeconds()).toBe(0);
    expect(q.unfinishedWorkSeconds()).toBe(0);
    const t0 = performance.now();
    q.add('a');
    await new Promise((r) => setTimeout(r, 100));
    q.add('b');
    await flush();
    const t1 = performance.now();
    // Seen from 10 s later: a has run about 10.1 s, b about 10 s.
    const later = performance.now() + 10_000;
    expect(q.longestRunningSeconds(later)).toBeGreaterThanOrEqual((later - t1) / 1000 + 0.099);
    expect(q.longestRunningSeconds(later)).toBeLessThanOrEqual((later - t0) / 1000);
    expect(q.unfinishedWorkSeconds(later)).toBeGreaterThanOrEqual(2 * (later - t1) / 1000 + 0.099);
    expect(q.unfinishedWorkSeconds(later)).toBeLessThanOrEqual(2 * (later - t0) / 1000);
    gate.resolve();
    await q.shutdown();
    expect(q.unfinishedWorkSeconds()).toBe(0);
    expect(q.longestRunningSeconds()).toBe(0);
  });

  it('after shutdown takes nothing: adds, delayed adds and retries pending then never run; the sync in flight finishes', async () => {
    jest.useFakeTimers();
    try {
      const seen: string[] = [];
      const gate = deferred();
      const q = new WorkQueue(async (key) => {
        seen.push(key);
        if (key === 'running') await gate.promise;
        if (key === 'failing') throw new Error('boom');
      }, { concurrency: 1, baseRetryMs: 100, maxRetryMs: 100 });
      q.add('failing');
      await jest.advanceTimersByTimeAsync(1); // fails: retry due in 100 ms
      q.add('running');
      await jest.advanceTimersByTimeAsync(1);
      q.add('waiting');
      q.addAfter('later', 50);
      let done = false;
      const stopped = q.shutdown().then(() => (done = true));
      q.add('after');
      q.addAfter('after-delayed', 1);
      await jest.advanceTimersByTimeAsync(10);
      expect(done).toBe(false); // waits for the sync in flight
      gate.resolve();
      await jest.advanceTimersByTimeAsync(1_000);
      await stopped;
      expect(seen).toEqual(['failing', 'running']);
      expect(q.depth).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
