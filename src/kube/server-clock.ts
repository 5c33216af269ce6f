// The API server's wall clock, as well as this process can know it: each response's Date header (whole
// seconds) bounds it, and between responses it is carried on the monotonic clock. The times the controller
// writes on objects and judges against (when an ordinal was orphaned, when a drain timed out, when a keep
// ends) are then the API server's, shared by every replica, and not moved by a replica's own wall clock
// being stepped (an NTP step) or minutes off.

export class ServerClock {
  /** Server wall time minus the monotonic clock, once a response has bounded it. */
  private offsetMs: number | undefined;
  /** The latest time handed out: the estimate never runs backwards when a response narrows it. */
  private last = -Infinity;
  private readonly mono: () => number;
  private readonly wall: () => number;

  constructor(mono: () => number = () => performance.now(), wall: () => number = () => Date.now()) {
    this.mono = mono;
    this.wall = wall;
  }

  /**
   * A response to a request sent at `sentAt` and received at `receivedAt` (both monotonic) carried `date`.
   * The server wrote it after the request left and before the response came, truncated to the second: so at
   * `sentAt` the server's clock was before date + 1 s, and at `receivedAt` at or after date.
   */
  observe(date: string | undefined, sentAt: number, receivedAt: number): void {
    const at = Date.parse(date ?? '');
    if (Number.isNaN(at)) return;
    const low = at - receivedAt;
    const high = at + 1000 - sentAt;
    this.offsetMs = this.offsetMs === undefined ? (low + high) / 2 : Math.min(Math.max(this.offsetMs, low), high);
  }

  /** Now, in epoch milliseconds by the API server's clock (this process's own until a response has come). */
  now(): number {
    if (this.offsetMs === undefined) return this.wall();
    this.last = Math.max(this.last, this.mono() + this.offsetMs);
    return this.last;
  }
}
