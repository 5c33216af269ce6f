// Exponential backoff, the one formula behind every wait that grows with failures: a drain's next attempt,
// a work-queue key's retry, a request sent again, an informer's next list or watch.

/** `baseMs` after the first failure, doubling with each one after it, never more than `maxMs`. */
export function exponentialBackoffMs(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
}
